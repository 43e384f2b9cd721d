# sockhub's English messages: the reference language. Every message here exists in every other
# locales/*.ftl with the same variables (the tests of sockhub-i18n check it).
# Ids are grouped by area: common-, error-, chat-, quiz-, calc-, relay-, client-, web-, cli-.

## Shared by every service

common-error = ! { $code }: { $message }
common-bye = * bye: { $reason }
common-info = * { $text }
common-prompt-password = * Password for { $name }?
common-online-list = * { $count } online: { $names }
common-help-this-list = this list
common-reason = { $text }: { $reason }

## Errors and endings of the connection layer (any service)

error-unknown-command = unknown command /{ $command }; type /help for the list
error-usage = usage: { $usage }
error-invalid-text = the { $what } contains { $found }; nothing was sent
text-what-message = message
text-what-reason = reason
text-what-name = name
text-what-answer = answer
text-line-break = a line break ({ $ch }) at character { $at }
text-escape = an escape character ({ $ch }) at character { $at }
text-bidi = a bidirectional override ({ $ch }) at character { $at }
text-control = a control character ({ $ch }) at character { $at }
error-line-too-long = line longer than { $limit } bytes; it was discarded
error-invalid-utf8 = line is not valid UTF-8; it was discarded
error-rate-limited = too many messages; slow down (this one was dropped)
error-login-timeout = you did not log in within { $secs } s; connect again when you are ready
error-server-full = the server is full; try again later
error-too-many-pending = too many connections from your address are waiting to log in (at most { $max }); log in or close some
error-too-many-waiting = too many connections are waiting to log in; try again shortly
error-too-many-connections = too many connections from your address (at most { $max }); close some and try again
error-too-slow = too slow: { $dropped } messages ({ $bytes } bytes) were waiting for you to read them
json-invalid = not valid JSON: { $detail }
json-not-an-object = expected a JSON object with a "type"
json-missing-type = missing "type" (a string)
json-unknown-type = unknown type "{ $type_name }"; this service accepts: { $accepted }
json-bad-request = bad "{ $type_name }" request: { $detail }
ending-connection-closed = connection closed
ending-idle = idle timeout
ending-shutdown = server shutting down
ending-login-timeout = login timeout
ending-too-slow = too slow to read
ending-goodbye = goodbye

## Accounts and names

error-password-required = this name needs a password
error-bad-credentials = wrong name or password
error-too-many-attempts = too many failed logins; try again in { $secs } s
error-logins-busy = too many logins are being checked right now; try again in a moment
error-logins-unavailable = logins are unavailable right now (the database cannot be reached); try again soon
error-admins-only = only admins may do that
error-role-unavailable = the database cannot be reached, so your role cannot be checked; try again soon
error-names-unavailable = the shared database cannot be reached, so names cannot be checked; try again shortly
error-name-taken-elsewhere = your name was taken on another server while this one was cut off; please log in again
name-invalid = invalid name: { $why }
name-empty = a name needs at least one character
name-too-long = at most { $max } characters (this one has { $chars })
name-spaces = no spaces or control characters
name-invisible = no invisible or formatting characters ({ $code })
name-slash = a name cannot start with /

## Chat

chat-greeting = * Welcome to sockhub chat. { $online } online. Type /help after you join.
chat-prompt-name = * Your name?
chat-welcome = * Welcome, { $name }! { $online } online. Type /help for commands.
chat-joined = [{ $name }] joined ({ $online } online)
chat-left = [{ $name }] left ({ $online } online)
chat-kicked = * { $name } was kicked by { $by }
chat-muted = * { $name } was muted by { $by }
chat-muted-until = * { $name } was muted by { $by } until { $until }
chat-unmuted = * { $name } was unmuted by { $by }
chat-mute-expired = * { $name } may speak again (the mute expired)
chat-help-say = say text to everyone
chat-help-whisper = whisper to one user (also /msg)
chat-help-who = list who is online
chat-help-quit = leave (also quit or q alone on a line)
chat-help-slash = say text that starts with /
chat-help-kick = admins: disconnect a user
chat-help-mute = admins: silence a user (no minutes: until /unmute)
chat-help-unmute = admins: let a muted user speak again
chat-help-start = admins: start a quiz round (when rounds start manually)
chat-already-in = you are already in the room
chat-name-taken = already registered user: "{ $name }" is online; choose another name
chat-log-in-first = log in first: send your name
chat-muted-you = you are muted{ $why }; your message was not sent
chat-muted-you-until = you are muted until { $until }{ $why }; your message was not sent
chat-log-behind = the chat log cannot keep up (is the database down?); your message was not sent
chat-nothing-to-say = nothing to say
chat-nothing-to-whisper = nothing to whisper
chat-quiz-not-here = the quiz is not running on this server
chat-kick-yourself = you cannot kick yourself; use /quit
chat-kicked-by = kicked by { $by }
chat-mute-minutes = minutes must be more than 0 and at most a year
chat-not-muted = "{ $name }" is not muted
chat-no-such-user = no one called "{ $name }" is online
chat-moderation-unavailable = the database cannot be reached right now; nothing was changed

## Quiz

quiz-greeting-running = * Welcome to the sockhub quiz. Round { $round } is on, { $left } left, { $online } playing.
quiz-greeting-waiting = * Welcome to the sockhub quiz. Waiting for the next round; { $online } waiting.
quiz-welcome = * Welcome, { $name }!
quiz-welcome-back = * Welcome back, { $name }! Your sum is { $sum } ({ $correct } correct of { $attempts }).
quiz-rules = Answer each problem within { $limit }; /help lists the commands.
quiz-round-on = Round { $round } is on: { $left } left.
quiz-waiting-for-round = Waiting for the round to start.
quiz-round-started = * Round { $round } started: { $duration } until { $ends }.
quiz-question = Q{ $id } [{ $at }] { $text } = ?
quiz-question-again = Q{ $id } [{ $at }] { $text } = ? (again)
quiz-times = [sent { $sent } · received { $received } · played { $played }]
quiz-correct = correct ({ $elapsed }) — sum { $sum }
quiz-wrong = wrong: { $answer } ({ $elapsed }) — sum { $sum }; the same problem comes back
quiz-late = too late: { $answer } after { $elapsed } (limit { $limit }) — sum { $sum }; the same problem comes back
quiz-invalid = invalid input: { $answer } is not a whole number; the same problem comes back
quiz-timeout = time's up: no answer within { $limit }; the same problem comes back
quiz-scores = * Scores, round { $round } ({ $total } players):
quiz-scores-left = * Scores, round { $round } ({ $total } players, { $left } left):
quiz-board-line =   { $rank }. { $name }  sum { $sum }  correct { $correct }/{ $attempts }
quiz-round-over = * Round { $round } is over after { $duration }. Final leaderboard ({ $total } players):
quiz-placed = * You placed { $rank } of { $total } with sum { $sum } ({ $correct } correct of { $attempts }).
quiz-help-answer = answer the open question with a whole number
quiz-help-scores = show the leaderboard
quiz-help-start = start a round (admins, when rounds start manually)
quiz-help-quit = leave (also quit or q alone on a line); rejoin with the same name to keep your sum
quiz-already-playing = you are already playing
quiz-account-needs-password = "{ $name }" is an account: send its password
quiz-name-taken = already registered user: "{ $name }" is playing; choose another name
quiz-round-just-ended = the round just ended; try again
quiz-answers-too-fast = answers are arriving faster than they can be judged; this one was dropped
quiz-round-is-over = the round is over
quiz-admin-only-start = only an admin may start a round
quiz-round-already-running = round { $round } is already running
quiz-starting-automatically = rounds start automatically; the next one is starting
quiz-round-starting = the round is starting
quiz-round-over-bye = round { $round } is over
quiz-not-started = the round has not started yet
quiz-wait-next = wait for the next question
quiz-not-open = Q{ $id } is not open; the open question is Q{ $open }
quiz-no-question = no question is open; { $why }
quiz-no-question-id = Q{ $id }: no question is open; { $why }

## Calculator

calc-greeting = * Welcome to the sockhub square calculator. { $online } online. Type /help after you log in.
calc-prompt-id = * Your student ID?
calc-student = student
calc-welcome = * Welcome, { $name } ({ $id }). { $online } online.
calc-welcome-dept = * Welcome, { $name } ({ $id }, { $department }). { $online } online.
calc-type-a-number = * Type a number to square it; /help for commands.
calc-no-results = * No results yet.
calc-history-head = { $count ->
    [one] * Your last { $count } result (newest last):
   *[other] * Your last { $count } results (newest last):
}
calc-help-number = square it: 12, -1.5, 0.001, 123456789012345678901234567890
calc-help-history = your last N results (default: as many as at login)
calc-help-who = list who is connected
calc-help-exit = leave (also /quit, quit or q alone on a line)
calc-id-needed = a student ID is needed (digits, e.g. 20212086)
calc-id-digits-only = a student ID is digits only (e.g. 20212086), not { $id }
calc-id-too-long = a student ID has at most { $max } digits (this one has { $digits })
calc-nothing-to-square = nothing to square: send a number such as 12 or -1.5
calc-hint-leading-point = write 0.{ $frac } rather than .{ $frac }
calc-hint-trailing-point = write { $int } or { $int }.0 rather than { $int }.
calc-hint-exponent = exponents are not accepted; write the number out in full
calc-hint-comma = use a point for decimals and no thousands separators (1234.5)
calc-hint-spaces = no spaces inside a number
calc-hint-grammar = a number is digits with an optional sign and decimal part, like 12, -1.5 or 0.25
calc-not-a-number = not a number: { $input }; { $hint }
calc-too-many-digits = the number has { $digits } digits; at most { $max } are accepted
calc-database-down = the database is not answering; try again shortly
calc-send-password = send the password of the sockhub account named as your student ID with the login
calc-not-on-roster = student { $id } is not on the roster; check the ID or ask the instructor
calc-result-not-saved = { $why } (your result for { $input } was not saved; send it again)
calc-already-logged-in = you are already logged in
calc-log-in-first = log in first: send your student ID

## Relay

relay-greeting = * Welcome to sockhub relay. Send records as name&&message lines (or JSON); each is acknowledged once stored.
relay-help-line = { $usage }  { $does }
relay-help-record = a record from source "name"; answered with "ack name SEQ" once stored
relay-help-json = a record in JSON mode
relay-help-auth = present a device token (nodes that require one); JSON: { $json }
relay-help-quit = leave
relay-auth-usage = expected AUTH followed by one token
relay-expected-record = expected a record as name&&message (or JSON); /help lists the formats
relay-authenticated = * authenticated: records of sources matching { $sources } are taken
relay-unknown-token = unknown or revoked token
relay-wrong-tokens = { $count } wrong tokens
relay-token-needed = this relay takes records only after a device token: send AUTH <token> first
relay-token-revoked = the token was revoked
relay-token-broken = this token's source pattern is broken
relay-token-covers = this token covers the sources { $pattern } only
relay-payload-too-large = payload is { $bytes } bytes; this node accepts at most { $max }
relay-store-failed = the server could not store this record
relay-database-failed = the database could not answer; try again

## Terminal clients (sockhub chat, quiz, calc, device)

client-password-prompt = Password for { $name }:
client-help-reply = reply to the last whisper you received
client-no-whisper-yet = nobody has whispered to you yet; use /w name text
client-reply-usage = usage: /r text (replies to { $to })
client-online = { $online } online
client-reply-to = reply: /r → { $to }
client-quiz-sum = sum { $sum } ({ $correct } of { $attempts })
client-round-left = round { $left } left
client-press-a-key = { $why } — press a key to exit
client-waiting-question = waiting for a question
client-connection-closed = the connection was closed
client-could-not-send = could not send: { $error }
client-calc-counts = mine { $mine } / all { $all }
client-server-closed = the server closed the connection
client-server-said-bye = server said bye: { $reason }
client-disconnected = disconnected: { $why }
client-scrolled-back = scrolled back: PgDn

## The quiz client's log (sockhub quiz --log FILE)

quiz-log-connected = connected to { $addr }
quiz-log-welcome = logged in as { $name }: { $text }
quiz-log-problem = Q{ $id } problem received: { $text } (sent { $sent }, received { $received })
quiz-log-answer = Q{ $id } answer { $answer } sent: { $verdict }
quiz-log-write-failed = cannot write the quiz log: { $error }
quiz-log-open-failed = cannot open the quiz log { $path }: { $error }

## The web page (crates/web/static/js; fetched as JSON from /api/i18n/<lang>)

web-language = Language
web-tab-chat = Chat
web-tab-quiz = Quiz
web-tab-calc = Calculator
web-tab-relay = Relay
web-tab-admin = Admin
web-connecting = Connecting…
web-waiting-for-server = Waiting for the sockhub server.
web-conn-online = connected
web-conn-connecting = reconnecting…
web-conn-offline = offline
web-connection-lost = Connection lost. Reconnecting…
web-name = Name
web-name-placeholder = e.g. alice or 홍길동
web-password = Password
web-password-required = required
web-password-optional = only for registered accounts
web-join = Join
web-chat-join-title = Join the chat
web-chat-join-intro = Pick a name. Registered members and admins also enter their password.
web-chat-account-password = This name belongs to an account: enter its password.
web-chat-welcome = Welcome, { $name }! { $online } online.
web-chat-joined = { $name } joined ({ $online } online)
web-chat-left = { $name } left ({ $online } online)
web-chat-removed = You were removed from the room.
web-chat-you-left = You left the room.
web-chat-join-again = Join again
web-chat-new-messages = New messages ↓
web-chat-send = Send
web-chat-leave = Leave
web-chat-online = Online
web-chat-message-everyone = Message everyone…
web-chat-message-everyone-hint = Message everyone…  (/w name text whispers)

## Command-line reports (table headers and status lines; CSV and JSON keep the column names)

cli-rows = { $count ->
    [one] ({ $count } row)
   *[other] ({ $count } rows)
}
cli-col-text = text
cli-col-student-id = student_id
cli-col-name = name
cli-col-department = department
cli-col-email = email
cli-col-round = round
cli-col-started = started
cli-col-length-secs = length_secs
cli-col-players = players
cli-col-winner = winner
cli-col-id = id
cli-col-sources = sources
cli-col-label = label
cli-col-created = created
cli-col-revoked = revoked
cli-col-source = source
cli-col-seq = seq
cli-col-state = state
cli-col-rule = rule
cli-col-reason = reason
cli-col-at = at
cli-col-received-at = received_at
cli-col-resends = resends
cli-col-payload = payload
cli-col-received = received
cli-col-kept = kept
cli-col-forwarded = forwarded
cli-col-held = held
cli-col-missing = missing
cli-col-stored = stored
cli-col-player = player
cli-col-problem-id = problem_id
cli-col-ask = ask
cli-col-problem = problem
cli-col-expected = expected
cli-col-answer = answer
cli-col-verdict = verdict
cli-col-sent-at = sent_at
cli-col-elapsed-ms = elapsed_ms
cli-col-input = input
cli-col-square = square
cli-col-role = role
cli-col-display-name = display_name
cli-col-time = time
cli-col-outcome = outcome
cli-col-service = service
cli-col-peer = peer
cli-col-from = from
cli-col-to = to
cli-col-admin = admin
cli-col-action = action
cli-col-target = target
cli-col-until = until

# Bans
chat-help-ban = admins: refuse a user's logins (30m, 2h, 7d; none: until /unban)
chat-help-unban = admins: let a banned user log in again
chat-banned = * { $name } was banned by { $by }{ $address } until /unban
chat-banned-until = * { $name } was banned by { $by }{ $address } for { $left } (until { $until })
chat-banned-address = {" "}with the address { $address }
chat-unbanned = * { $name } was unbanned by { $by }
error-banned-you = you are banned until an admin lifts the ban{ $why }
error-banned-you-until = you are banned for { $left } more (until { $until }){ $why }
error-banned-address = this address is banned until an admin lifts the ban{ $why }
error-banned-address-until = this address is banned for { $left } more (until { $until }){ $why }
error-not-banned = "{ $name }" is not banned
error-bad-duration = "{ $text }" is not a duration like 30m, 2h or 7d ({ $error })
error-ban-duration-range = a ban lasts more than 0 s and at most 3650 days (no duration: until lifted)
chat-ban-yourself = you cannot ban yourself
error-moderation-log-full = the moderation log is not accepting records; try again

# Command line: what `sockhub` subcommands report to the person who ran them (machine output,
# --json and CSV, never changes).
cli-reading = reading { $path }
cli-writing = writing { $path }
cli-creating = creating { $path }
cli-opening = opening { $path }
cli-opening-failed = opening { $db }: { $error }
cli-unknown-error = unknown error
cli-none = none
cli-password-prompt = Password for { $name }:{" "}
cli-password-again = Again:{" "}
cli-password-mismatch = the passwords do not match
cli-password-empty = the password is empty
cli-password-stdin = reading the password from standard input
cli-server-closed = the server closed the connection without answering
cli-user-added = added { $name } ({ $role })
cli-user-add-conflict = cannot add { $name }: { $why }
cli-user-missing = no account named { $name }
cli-user-password-changed = password changed for { $name }
cli-user-role-changed = { $name } is now { $role }
cli-user-removed = removed { $name }
cli-ban-too-many = { $count } bans are in force, the most allowed (auth.max_bans); lift some first
cli-ban-address = {" "}and the address { $address }
cli-banned = banned { $name }{ $address } until unbanned; running servers act on it within { $secs } s
cli-banned-until = banned { $name }{ $address } until { $until }; running servers act on it within { $secs } s
cli-unbanned = unbanned { $name }
cli-ban-log-queue = queueing the moderation-log record
cli-ban-log-failed = the ban is stored, but its moderation-log record could not be written
cli-calc-student-required = give your student ID: sockhub calc --student 20212086 (or see sockhub calc --help)
cli-quiz-name-required = --name is required to play (or use a subcommand: start, export, rounds)
cli-quiz-think-ms-number = --think-ms: { $value } is not a number of milliseconds
cli-quiz-think-ms-order = --think-ms: { $low } is more than { $high }
cli-quiz-connecting = connecting to the quiz at { $addr }
cli-quiz-bot-summary = bot { $name }: { $questions } questions, { $answers } answers, verdicts { $verdicts }, sum { $sum }
cli-db-up-to-date = { $db }: up to date
cli-db-applied = { $db }: applied { $migration }
cli-prune-for-ever = for ever
cli-prune-would-remove = would_remove
cli-prune-removed = removed
cli-backup-verb-back-up = back up
cli-backup-verb-restore = restore
cli-backup-use-sqlite-file = set [database] sqlite_file instead of an sqlite: URL to { $verb } it
cli-backup-tool = { $dump } (restore with { $restore })
cli-backup-server-database = the database is { $db }: { $verb } it with { $tool }; see "Backups" in docs/operations.md
cli-backup-summary = {"  "}{ $bytes } bytes, migration { $migration }, rows: { $rows }
cli-backup-done = backed up { $db } to { $file }
cli-restore-done = restored { $file } into { $path }
cli-restore-old-kept = {"  "}the database that was there is kept as { $path }
cli-restore-no-old = {"  "}there was no database there before
cli-restore-opening = opening the restored database: { $error }
cli-device-first-seq = --first-seq must be a number or auto, not { $value }
cli-device-spool-context = the spool
cli-device-progress = records acknowledged
cli-device-seqs = seqs { $first }..{ $last }
cli-device-no-records = no records
cli-device-report = { $source }: { $acked } of { $total } records acknowledged ({ $seqs }), { $refused } refused, { $reconnects } reconnects, { $secs }s, { $rate } records/s
cli-device-restored = , { $count } from the spool
cli-device-skipped-lines = , { $count } lines skipped
cli-device-left-in-spool = , { $count } left in the spool
cli-device-skipped = skipped: { $why }
cli-device-refused = refused: seq { $seq }: { $why }
cli-device-input = input: { $why }
cli-device-kept = {" "}(kept in the spool { $dir })
cli-device-gave-up = gave up: { $why }; { $count } records not acknowledged{ $kept }
cli-device-no-spool = { $dir }: no spool
cli-device-spool-seqs = {" "}(seqs { $first }..{ $last })
cli-device-next-seq = next seq { $seq }
cli-device-not-numbered = not numbered yet
cli-device-spool = { $source }: { $count } records waiting in { $dir }{ $seqs }, { $next }
device-spool-error = spool { $dir }: { $what }
device-spool-not-ours = { $file } is not a device spool: { $error }
device-spool-version = spool version { $version } (this device reads { $reads })
device-spool-locked = in use by another device (its lock is held)
device-spool-other-source = holds records of source { $other }, not { $source }
cli-serve-listening = { $service } listening on { $addr }
cli-serve-signal-again = { $signal } received again; exiting now
cli-bad-time = { $text } is not a time: use 2026-11-21, "2026-11-21 15:00" or RFC 3339
cli-time-missing = { $text } does not exist here
device-cannot-start = cannot start reading: { $error }
device-line-too-long = a line longer than { $limit } bytes
device-reading-input = reading input: { $error }
device-cannot-open = cannot open { $path }
device-reading-file = reading the file: { $error }
device-token-refused = the relay refused the token: { $why }
device-last-seq-refused = the relay refused to tell the last seq: { $why }
device-no-ack-after-end = no acknowledgement for { $secs }s after the end of input
device-stopped = stopped, and nothing more was acknowledged within { $secs }s
device-no-ack = no acknowledgement for { $secs }s
cli-relay-token-added = token { $id } for sources { $sources }; shown only now, keep it safe:
cli-relay-token-revoked = token { $id } revoked
cli-relay-token-missing = no token { $id }, or it is revoked already
cli-relay-opening = opening the database ({ $db })
cli-relay-no-node = no relay node has run on this database yet
cli-relay-stale = {" "}(status from { $age }s ago: the server may be stopped)
cli-relay-downstream = downstream { $downstream }: { $state } since { $since }{ $error }
cli-relay-last-error = {" "}(last error: { $error })
cli-relay-sink = sink (no downstream)
cli-relay-node = {"  "}in flight { $in_flight }, lag { $lag }s, backpressure { $backpressure }, pending { $records } records / { $bytes } bytes (quota: { $quota })
cli-relay-on = ON
cli-relay-off = off
cli-relay-quota-bytes = { $bytes } bytes
cli-relay-quota-records = { $records } records
cli-relay-quota-both = { $bytes } bytes, { $records } records
cli-relay-last-reconcile = last reconcile: { $outcome } ({ $cause }) at { $at }: { $sources } sources, { $missing } missing, { $extra } extra, { $mismatched } mismatched
cli-relay-last-reconcile-none = last reconcile: none yet
cli-relay-resend-done = resend request { $id } by { $by }: { $count } records queued again
cli-relay-resend-failed = resend request { $id } failed: { $error }
cli-relay-resend-recorded = resend request { $id } by { $by } is recorded; the server carries it out when it runs
cli-relay-reconcile-done = reconcile { $outcome }: { $sources } sources, { $missing } missing, { $extra } extra, { $mismatched } mismatched
cli-relay-reconcile-source = {"  "}{ $source }: forwarded { $forwarded }, kept { $kept }, downstream has { $count } (seqs { $first }..{ $last }, { $gaps } gaps), missing { $missing } (re-sent { $requeued }), extra { $extra }, mismatched { $mismatched }
cli-relay-reconcile-failed = reconcile failed: { $error }
cli-relay-reconcile-timeout = reconcile request { $id } is recorded but no server took it up within { $secs }s
cli-relay-bad-seq = bad seq { $value } in { $text }
cli-relay-bad-seq-range = bad seq range { $text }: the first is above the last
cli-relay-bad-since = bad --since: { $error }
cli-relay-bad-since-form = bad --since { $text }: use an RFC 3339 time, a date or an age like 15m
cli-relay-bad-since-unit = bad --since { $text }: the age unit is s, m, h or d
cli-roster-problems = { $file }: { $count ->
    [one] { $count } problem
   *[other] { $count } problems
  }; nothing was imported
cli-roster-add = add     { $student }
cli-roster-update = update  { $student }
cli-roster-dry-run = dry run: would add { $added }, update { $updated }, leave { $same } unchanged; nothing was written
cli-roster-imported = imported { $file }: added { $added }, updated { $updated }, unchanged { $same }
cli-roster-not-in-file = { $count ->
    [one] { $count } student on the roster is not in the file (kept)
   *[other] { $count } students on the roster are not in the file (kept)
  }
cli-serve-nothing-enabled = no service is enabled; check the configuration (`sockhub config`)
cli-tls-days = --days must be at least 1
cli-tls-new-ca = Wrote a new CA: { $ca } (its key { $key } stays here, private)
cli-tls-used-ca = Used the CA already in { $dir }: { $ca }
cli-tls-wrote = Wrote { $cert } and its key { $key }
cli-tls-in-config = In the server's configuration:
cli-tls-port-comment = # and a tls_port per service, e.g. [chat] tls_port = 7101, [web] tls_port = 8443
cli-tls-hand-ca = Hand { $ca } (and nothing else from { $dir }) to the clients:
cli-tls-browsers = Browsers: import ca.pem as a trusted certificate authority, or accept the warning once.
cli-tls-mutual = Mutual TLS between relays: on the upstream relay (Server1)
cli-tls-downstream = and on the downstream relay (Server2): { $settings }
roster-line = line { $line }: { $reason }
roster-empty = the file is empty; the first line must be the header { $expected }
roster-header-unreadable = cannot read the header: { $error }
roster-header-not-utf8 = the header is not valid UTF-8
roster-column-twice = column { $column } appears twice in the header
roster-column-unknown = unknown column { $column } in the header; expected { $expected }
roster-column-missing = the header has no { $column } column; expected { $expected }
roster-row-unreadable = cannot read this row: { $error }
roster-column-count = expected { $expected } columns as in the header, found { $found }
roster-row-not-utf8 = not valid UTF-8 (save the file as UTF-8)
roster-duplicate-id = student_id { $id } already appears on line { $first }
roster-bad-id = student_id: { $error }
roster-field-name = name
roster-field-department = department
roster-field-email = email
roster-field-empty = { $field } is empty
roster-field-too-long = { $field } has { $count } characters; at most { $max }
roster-field-forbidden = { $field } contains { $what }
roster-bad-email = email { $email }: { $why }
roster-email-too-long = too long
roster-email-space = no spaces allowed
roster-email-no-at = no @
roster-email-one-at = expected one @ with a name before it
roster-email-domain = the domain needs a dot, like example.ac.kr
