"""The sockhub configuration both irctest controllers write: a fresh data directory, no rate
limit, one-character passwords allowed (irctest's accounts), no chat history, and the IRC
listener on the port irctest picked, with no PINGs and no automatic join (irctest expects a
client to be in no channel after registration)."""

CONFIG = """\
[server]
data_dir = "{data_dir}"
log_level = "warn"
[limits]
rate_per_sec = 0.0
[auth]
min_password_chars = 1
[chat]
port = 0
history = 0
[irc]
port = {port}
server_name = "My.Little.Server"
ping_secs = 0
auto_join = false
{password}
"""
