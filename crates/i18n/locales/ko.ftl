# sockhub의 한국어 메시지. en.ftl과 같은 id, 같은 변수를 씁니다 (sockhub-i18n의 테스트가 확인합니다).
# 오류 코드(name_taken 등)는 프로그램이 읽는 값이므로 번역하지 않습니다.

## Shared by every service

common-error = ! { $code }: { $message }
common-bye = * 연결 종료: { $reason }
common-info = * { $text }
common-prompt-password = * { $name }의 비밀번호를 입력하세요.
common-online-list = * 접속 중 { $count }명: { $names }
common-help-this-list = 이 목록 보기
common-reason = { $text } (사유: { $reason })

## Errors and endings of the connection layer (any service)

error-unknown-command = 유효하지 않은 요청: /{ $command } 명령은 없습니다. /help로 목록을 보세요
error-usage = 사용법: { $usage }
error-invalid-text = { $what }에 { $found }가 있어 보내지 않았습니다
text-what-message = 메시지
text-what-reason = 사유
text-what-name = 이름
text-what-answer = 답
text-line-break = { $at }번째 글자에 줄바꿈({ $ch })
text-escape = { $at }번째 글자에 이스케이프 문자({ $ch })
text-bidi = { $at }번째 글자에 양방향 제어 문자({ $ch })
text-control = { $at }번째 글자에 제어 문자({ $ch })
error-line-too-long = 한 줄이 { $limit }바이트를 넘어 버렸습니다
error-invalid-utf8 = UTF-8이 아닌 줄이라 버렸습니다
error-rate-limited = 메시지가 너무 많습니다. 천천히 보내세요 (이 메시지는 버렸습니다)
error-login-timeout = { $secs }초 안에 로그인하지 않았습니다. 준비되면 다시 접속하세요
error-server-full = 서버가 가득 찼습니다. 잠시 후 다시 시도하세요
error-too-many-pending = 이 주소에서 로그인을 기다리는 연결이 너무 많습니다 (최대 { $max }개). 로그인하거나 몇 개를 닫으세요
error-too-many-waiting = 로그인을 기다리는 연결이 너무 많습니다. 잠시 후 다시 시도하세요
error-too-many-connections = 이 주소의 연결이 너무 많습니다 (최대 { $max }개). 몇 개를 닫고 다시 시도하세요
error-too-slow = 너무 느립니다: 읽지 않은 메시지 { $dropped }개({ $bytes }바이트)가 쌓였습니다
json-invalid = 유효하지 않은 JSON: { $detail }
json-not-an-object = "type"이 있는 JSON 객체여야 합니다
json-missing-type = "type"(문자열)이 없습니다
json-unknown-type = 유효하지 않은 요청: "{ $type_name }" 유형은 없습니다. 이 서비스가 받는 유형: { $accepted }
json-bad-request = 유효하지 않은 "{ $type_name }" 요청: { $detail }
ending-connection-closed = 연결 종료
ending-idle = 오랫동안 입력이 없어 연결을 끊습니다
ending-shutdown = 서버 종료
ending-login-timeout = 로그인 시간 초과
ending-too-slow = 읽기가 너무 느림
ending-goodbye = 안녕히 가세요

## Accounts and names

error-password-required = 비밀번호가 필요한 이름입니다
error-bad-credentials = 이름 또는 비밀번호가 틀렸습니다
error-too-many-attempts = 로그인 실패가 너무 많습니다. { $secs }초 뒤에 다시 시도하세요
error-logins-busy = 지금 확인 중인 로그인이 너무 많습니다. 잠시 후 다시 시도하세요
error-logins-unavailable = 데이터베이스에 연결할 수 없어 지금은 로그인할 수 없습니다. 잠시 후 다시 시도하세요
error-admins-only = 관리자만 할 수 있습니다
error-role-unavailable = 데이터베이스에 연결할 수 없어 권한을 확인하지 못했습니다. 잠시 후 다시 시도하세요
error-names-unavailable = 공유 데이터베이스에 연결할 수 없어 이름을 확인하지 못했습니다. 잠시 후 다시 시도하세요
error-name-taken-elsewhere = 이 서버의 연결이 끊긴 사이 다른 서버에서 같은 이름을 사용했습니다. 다시 로그인하세요
name-invalid = 유효하지 않은 이름: { $why }
name-empty = 이름은 한 글자 이상이어야 합니다
name-too-long = 최대 { $max }글자입니다 (지금 { $chars }글자)
name-spaces = 공백이나 제어 문자는 쓸 수 없습니다
name-invisible = 보이지 않는 문자나 서식 문자는 쓸 수 없습니다 ({ $code })
name-slash = 이름은 /로 시작할 수 없습니다

## Chat

chat-greeting = * sockhub 채팅에 오신 것을 환영합니다. 현재 { $online }명 접속 중. 입장한 뒤 /help를 입력하면 명령 목록을 볼 수 있습니다.
chat-prompt-name = * 이름을 입력하세요.
chat-welcome = * 어서와! { $name } (현재 { $online }명 접속 중). /help로 명령 목록을 볼 수 있습니다.
chat-joined = [{ $name }]접속 (현재 { $online }명)
chat-left = [{ $name }] 접속 종료 (현재 { $online }명)
chat-kicked = * { $name }님이 { $by }님에 의해 강퇴되었습니다
chat-muted = * { $name }님이 { $by }님에 의해 채팅 금지되었습니다
chat-muted-until = * { $name }님이 { $by }님에 의해 { $until }까지 채팅 금지되었습니다
chat-unmuted = * { $by }님이 { $name }님의 채팅 금지를 풀었습니다
chat-mute-expired = * { $name }님의 채팅 금지가 끝나 다시 말할 수 있습니다
chat-help-say = 모두에게 말하기
chat-help-whisper = 한 사람에게 귓속말 (/msg도 가능)
chat-help-who = 접속 중인 사용자 보기
chat-help-quit = 나가기 (quit 또는 q만 입력해도 됨)
chat-help-slash = /로 시작하는 글 보내기
chat-help-kick = 관리자: 사용자 강퇴
chat-help-mute = 관리자: 사용자 채팅 금지 (분을 생략하면 /unmute 할 때까지)
chat-help-unmute = 관리자: 채팅 금지 해제
chat-help-start = 관리자: 퀴즈 라운드 시작 (라운드를 직접 시작하는 경우)
chat-already-in = 이미 채팅방에 있습니다
chat-name-taken = 등록된 사용자: "{ $name }"님이 이미 접속해 있습니다. 다른 이름을 입력하세요
chat-log-in-first = 먼저 로그인하세요: 이름을 보내세요
chat-muted-you = 채팅 금지 상태입니다{ $why }. 메시지를 보내지 않았습니다
chat-muted-you-until = { $until }까지 채팅 금지 상태입니다{ $why }. 메시지를 보내지 않았습니다
chat-log-behind = 채팅 기록이 밀려 있습니다 (데이터베이스가 멈췄나요?). 메시지를 보내지 않았습니다
chat-nothing-to-say = 보낼 내용이 없습니다
chat-nothing-to-whisper = 귓속말할 내용이 없습니다
chat-quiz-not-here = 이 서버에서는 퀴즈가 실행되고 있지 않습니다
chat-kick-yourself = 자기 자신은 강퇴할 수 없습니다. /quit을 쓰세요
chat-kicked-by = { $by }님이 강퇴했습니다
chat-mute-minutes = 분은 0보다 크고 1년 이하여야 합니다
chat-not-muted = "{ $name }"님은 채팅 금지 상태가 아닙니다
chat-no-such-user = "{ $name }"(이)라는 사용자는 접속해 있지 않습니다
chat-moderation-unavailable = 지금은 데이터베이스에 연결할 수 없습니다. 아무것도 바뀌지 않았습니다

## Quiz

quiz-greeting-running = * sockhub 퀴즈에 오신 것을 환영합니다. { $round }라운드 진행 중, { $left } 남음, { $online }명 참가 중.
quiz-greeting-waiting = * sockhub 퀴즈에 오신 것을 환영합니다. 다음 라운드를 기다리는 중, { $online }명 대기 중.
quiz-welcome = * 어서와! { $name }
quiz-welcome-back = * 다시 오셨군요, { $name }님! 현재 합계 { $sum } ({ $attempts }번 중 { $correct }번 정답).
quiz-rules = 문제마다 { $limit } 안에 답하세요. /help로 명령 목록을 볼 수 있습니다.
quiz-round-on = { $round }라운드 진행 중: { $left } 남음.
quiz-waiting-for-round = 라운드 시작을 기다리는 중입니다.
quiz-round-started = * { $round }라운드 시작: { $duration }, { $ends }까지.
quiz-question = Q{ $id } [{ $at }] { $text } = ?
quiz-question-again = Q{ $id } [{ $at }] { $text } = ? (다시)
quiz-times = [보냄 { $sent } · 받음 { $received } · 진행 { $played }]
quiz-correct = 정답 ({ $elapsed }) — 합계 { $sum }
quiz-wrong = 오답: { $answer } ({ $elapsed }) — 합계 { $sum }. 같은 문제가 다시 나옵니다
quiz-late = 시간 초과: { $elapsed } 만에 { $answer } (제한 { $limit }) — 합계 { $sum }. 같은 문제가 다시 나옵니다
quiz-invalid = 유효하지 않은 입력: { $answer }은(는) 정수가 아닙니다. 같은 문제가 다시 나옵니다
quiz-timeout = 시간 종료: { $limit } 안에 답이 없었습니다. 같은 문제가 다시 나옵니다
quiz-scores = * { $round }라운드 점수 ({ $total }명):
quiz-scores-left = * { $round }라운드 점수 ({ $total }명, { $left } 남음):
quiz-board-line =   { $rank }. { $name }  합계 { $sum }  정답 { $correct }/{ $attempts }
quiz-round-over = * { $round }라운드가 { $duration } 만에 끝났습니다. 최종 순위 ({ $total }명):
quiz-placed = * { $total }명 중 { $rank }등, 합계 { $sum } ({ $attempts }번 중 { $correct }번 정답).
quiz-help-answer = 열린 문제에 정수로 답하기
quiz-help-scores = 순위표 보기
quiz-help-start = 라운드 시작 (관리자, 라운드를 직접 시작하는 경우)
quiz-help-quit = 나가기 (quit 또는 q만 입력해도 됨). 같은 이름으로 다시 들어오면 합계가 유지됩니다
quiz-already-playing = 이미 참가 중입니다
quiz-account-needs-password = "{ $name }"은(는) 계정입니다. 비밀번호를 보내세요
quiz-name-taken = 등록된 사용자: "{ $name }"님이 이미 참가 중입니다. 다른 이름을 입력하세요
quiz-round-just-ended = 라운드가 방금 끝났습니다. 다시 시도하세요
quiz-answers-too-fast = 채점보다 답이 빨리 들어옵니다. 이 답은 버렸습니다
quiz-round-is-over = 라운드가 끝났습니다
quiz-admin-only-start = 라운드는 관리자만 시작할 수 있습니다
quiz-round-already-running = { $round }라운드가 이미 진행 중입니다
quiz-starting-automatically = 라운드는 자동으로 시작됩니다. 다음 라운드를 시작합니다
quiz-round-starting = 라운드를 시작합니다
quiz-round-over-bye = { $round }라운드 종료
quiz-not-started = 라운드가 아직 시작되지 않았습니다
quiz-wait-next = 다음 문제를 기다리세요
quiz-not-open = Q{ $id }는 열려 있지 않습니다. 지금 열린 문제는 Q{ $open }입니다
quiz-no-question = 열린 문제가 없습니다. { $why }
quiz-no-question-id = Q{ $id }: 열린 문제가 없습니다. { $why }

## Calculator

calc-greeting = * sockhub 제곱 계산기에 오신 것을 환영합니다. 현재 { $online }명 접속 중. 로그인한 뒤 /help를 입력하면 명령 목록을 볼 수 있습니다.
calc-prompt-id = * 학번을 입력하세요.
calc-student = 학생
calc-welcome = * 어서와! { $name } ({ $id }). 현재 { $online }명 접속 중.
calc-welcome-dept = * 어서와! { $name } ({ $id }, { $department }). 현재 { $online }명 접속 중.
calc-type-a-number = * 숫자를 입력하면 제곱을 계산합니다. /help로 명령 목록을 볼 수 있습니다.
calc-no-results = * 아직 결과가 없습니다.
calc-history-head = * 최근 결과 { $count }개 (아래가 최신):
calc-help-number = 제곱 계산: 12, -1.5, 0.001, 123456789012345678901234567890
calc-help-history = 최근 결과 N개 (생략하면 로그인 때와 같은 개수)
calc-help-who = 접속 중인 사용자 보기
calc-help-exit = 나가기 (/quit, quit 또는 q만 입력해도 됨)
calc-id-needed = 학번이 필요합니다 (숫자, 예: 20212086)
calc-id-digits-only = 학번은 숫자만 쓸 수 있습니다 (예: 20212086). 받은 값: { $id }
calc-id-too-long = 학번은 최대 { $max }자리입니다 (지금 { $digits }자리)
calc-nothing-to-square = 제곱할 숫자가 없습니다. 12나 -1.5 같은 숫자를 보내세요
calc-hint-leading-point = .{ $frac } 대신 0.{ $frac }로 쓰세요
calc-hint-trailing-point = { $int }. 대신 { $int } 또는 { $int }.0으로 쓰세요
calc-hint-exponent = 지수 표기는 받지 않습니다. 숫자를 모두 풀어 쓰세요
calc-hint-comma = 소수점은 점으로 쓰고 천 단위 구분 기호는 쓰지 마세요 (1234.5)
calc-hint-spaces = 숫자 안에 공백을 넣을 수 없습니다
calc-hint-grammar = 숫자는 부호와 소수 부분을 붙일 수 있는 숫자들입니다. 예: 12, -1.5, 0.25
calc-not-a-number = 유효하지 않은 입력: { $input }은(는) 숫자가 아닙니다. { $hint }
calc-too-many-digits = { $digits }자리 숫자입니다. 최대 { $max }자리까지 받습니다
calc-database-down = 데이터베이스가 응답하지 않습니다. 잠시 후 다시 시도하세요
calc-send-password = 학번 이름의 sockhub 계정 비밀번호를 로그인과 함께 보내세요
calc-not-on-roster = 학번 { $id }은(는) 명단에 없습니다. 학번을 확인하거나 담당 교수님께 문의하세요
calc-result-not-saved = { $why } ({ $input }의 결과를 저장하지 못했습니다. 다시 보내세요)
calc-already-logged-in = 이미 로그인했습니다
calc-log-in-first = 먼저 로그인하세요: 학번을 보내세요

## Relay

relay-greeting = * sockhub 중계 서버에 오신 것을 환영합니다. 레코드를 name&&message 줄(또는 JSON)로 보내세요. 저장되면 하나씩 확인 응답을 보냅니다.
relay-help-line = { $usage }  { $does }
relay-help-record = "name" 소스의 레코드. 저장되면 "ack name SEQ"로 응답합니다
relay-help-json = JSON 모드의 레코드
relay-help-auth = 장치 토큰 제시 (토큰이 필요한 노드). JSON: { $json }
relay-help-quit = 나가기
relay-auth-usage = AUTH 뒤에 토큰 하나를 보내야 합니다
relay-expected-record = 유효하지 않은 요청: 레코드는 name&&message(또는 JSON) 형식이어야 합니다. /help로 형식을 보세요
relay-authenticated = * 인증됨: { $sources }에 맞는 소스의 레코드를 받습니다
relay-unknown-token = 알 수 없거나 폐기된 토큰입니다
relay-wrong-tokens = 잘못된 토큰 { $count }번
relay-token-needed = 이 중계 서버는 장치 토큰을 받은 뒤에만 레코드를 받습니다. 먼저 AUTH <토큰>을 보내세요
relay-token-revoked = 토큰이 폐기되었습니다
relay-token-broken = 이 토큰의 소스 패턴이 잘못되었습니다
relay-token-covers = 이 토큰은 { $pattern } 소스만 허용합니다
relay-payload-too-large = 페이로드가 { $bytes }바이트입니다. 이 노드는 최대 { $max }바이트까지 받습니다
relay-store-failed = 서버가 이 레코드를 저장하지 못했습니다
relay-database-failed = 데이터베이스가 응답하지 않았습니다. 다시 시도하세요

## Terminal clients (sockhub chat, quiz, calc, device)

client-password-prompt = { $name }의 비밀번호:
client-help-reply = 마지막으로 받은 귓속말에 답하기
client-no-whisper-yet = 아직 받은 귓속말이 없습니다. /w 이름 내용 으로 보내세요
client-reply-usage = 사용법: /r 내용 ({ $to }님에게 답장)
client-online = { $online }명 접속 중
client-reply-to = 답장: /r → { $to }
client-quiz-sum = 합계 { $sum } ({ $attempts }번 중 { $correct }번 정답)
client-round-left = 라운드 { $left } 남음
client-press-a-key = { $why } — 아무 키나 누르면 끝납니다
client-waiting-question = 문제를 기다리는 중
client-connection-closed = 연결이 끊어졌습니다
client-could-not-send = 보내지 못했습니다: { $error }
client-calc-counts = 내 결과 { $mine } / 전체 { $all }
client-server-closed = 서버가 연결을 끊었습니다
client-server-said-bye = 서버가 연결을 끝냈습니다: { $reason }
client-disconnected = 연결 끊김: { $why }
client-scrolled-back = 이전 내용 보는 중: PgDn

## The quiz client's log (sockhub quiz --log FILE)

quiz-log-connected = { $addr }에 연결됨
quiz-log-welcome = { $name }(으)로 로그인: { $text }
quiz-log-problem = Q{ $id } 문제 받음: { $text } (보냄 { $sent }, 받음 { $received })
quiz-log-answer = Q{ $id } 답 { $answer } 보냄: { $verdict }
quiz-log-write-failed = 퀴즈 로그를 쓸 수 없습니다: { $error }
quiz-log-open-failed = 퀴즈 로그 { $path }을(를) 열 수 없습니다: { $error }

## The web page (crates/web/static/js; fetched as JSON from /api/i18n/<lang>)

web-language = 언어
web-tab-chat = 채팅
web-tab-quiz = 퀴즈
web-tab-calc = 계산기
web-tab-relay = 중계
web-tab-admin = 관리
web-connecting = 연결 중…
web-waiting-for-server = sockhub 서버를 기다리는 중입니다.
web-conn-online = 연결됨
web-conn-connecting = 다시 연결 중…
web-conn-offline = 오프라인
web-connection-lost = 연결이 끊어졌습니다. 다시 연결하는 중…
web-name = 이름
web-name-placeholder = 예: alice 또는 홍길동
web-password = 비밀번호
web-password-required = 필수
web-password-optional = 등록된 계정만 입력
web-join = 입장
web-chat-join-title = 채팅 입장
web-chat-join-intro = 이름을 정하세요. 등록된 회원과 관리자는 비밀번호도 입력합니다.
web-chat-account-password = 계정이 있는 이름입니다. 비밀번호를 입력하세요.
web-chat-welcome = 어서와! { $name } (현재 { $online }명 접속 중)
web-chat-joined = [{ $name }]접속 (현재 { $online }명)
web-chat-left = [{ $name }] 접속 종료 (현재 { $online }명)
web-chat-removed = 채팅방에서 내보내졌습니다.
web-chat-you-left = 채팅방에서 나왔습니다.
web-chat-join-again = 다시 입장
web-chat-new-messages = 새 메시지 ↓
web-chat-send = 보내기
web-chat-leave = 나가기
web-chat-online = 접속 중
web-chat-message-everyone = 모두에게 메시지…
web-chat-message-everyone-hint = 모두에게 메시지…  (/w 이름 내용: 귓속말)

## Command-line reports (table headers and status lines; CSV and JSON keep the column names)

cli-rows = ({ $count }행)
cli-col-text = 내용
cli-col-student-id = 학번
cli-col-name = 이름
cli-col-department = 학과
cli-col-email = 이메일
cli-col-round = 라운드
cli-col-started = 시작
cli-col-length-secs = 길이(초)
cli-col-players = 참가자
cli-col-winner = 우승자
cli-col-id = 번호
cli-col-sources = 소스
cli-col-label = 이름표
cli-col-created = 만든 때
cli-col-revoked = 폐기
cli-col-source = 소스
cli-col-seq = 순번
cli-col-state = 상태
cli-col-rule = 규칙
cli-col-reason = 사유
cli-col-at = 시각
cli-col-received-at = 받은 시각
cli-col-resends = 재전송
cli-col-payload = 내용
cli-col-received = 받음
cli-col-kept = 보관
cli-col-forwarded = 전달
cli-col-held = 보류
cli-col-missing = 누락
cli-col-stored = 저장
cli-col-player = 참가자
cli-col-problem-id = 문제 번호
cli-col-ask = 출제 횟수
cli-col-problem = 문제
cli-col-expected = 정답
cli-col-answer = 답
cli-col-verdict = 판정
cli-col-sent-at = 보낸 시각
cli-col-elapsed-ms = 걸린 시간(ms)
cli-col-input = 입력
cli-col-square = 제곱
cli-col-role = 역할
cli-col-display-name = 표시 이름
cli-col-time = 시각
cli-col-outcome = 결과
cli-col-service = 서비스
cli-col-peer = 접속 주소
cli-col-from = 보낸 사람
cli-col-to = 받는 사람
cli-col-admin = 관리자
cli-col-action = 조치
cli-col-target = 대상
cli-col-until = 까지

# Bans
chat-help-ban = 관리자: 사용자의 접속 차단 (30m, 2h, 7d; 기간이 없으면 /unban 할 때까지)
chat-help-unban = 관리자: 접속 차단 해제
chat-banned = * { $name }님이 { $by }님에 의해 접속 차단되었습니다{ $address } (/unban 할 때까지)
chat-banned-until = * { $name }님이 { $by }님에 의해 { $until }까지({ $left }) 접속 차단되었습니다{ $address }
chat-banned-address = {" "}(주소 { $address } 포함)
chat-unbanned = * { $by }님이 { $name }님의 접속 차단을 풀었습니다
error-banned-you = 관리자가 풀 때까지 접속이 차단되었습니다{ $why }
error-banned-you-until = { $until }까지({ $left } 남음) 접속이 차단되었습니다{ $why }
error-banned-address = 이 주소는 관리자가 풀 때까지 접속이 차단되었습니다{ $why }
error-banned-address-until = 이 주소는 { $until }까지({ $left } 남음) 접속이 차단되었습니다{ $why }
error-not-banned = "{ $name }"님은 접속 차단 상태가 아닙니다
error-bad-duration = "{ $text }"은(는) 30m, 2h, 7d 같은 기간이 아닙니다 ({ $error })
error-ban-duration-range = 차단 기간은 0초보다 길고 3650일 이하입니다 (기간이 없으면 풀 때까지)
chat-ban-yourself = 자기 자신은 접속 차단할 수 없습니다
error-moderation-log-full = 관리 기록을 지금 남길 수 없습니다. 잠시 후 다시 시도하세요
