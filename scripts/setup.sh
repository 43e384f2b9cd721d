#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, only when it is missing:
# - tmux, the real terminal in which the full-screen client's end-to-end test runs;
# - nats-server: the cluster tests start a private one per test (to stop and restart it at will);
# - Debian's chromium and chromium-driver, the real browser of the web page's end-to-end tests
#   (never a downloaded browser build), and a CJK font so that Hangul in their screenshots
#   renders as text rather than boxes;
# - openssl and curl, the TLS clients of the TLS tests (`openssl s_client` on the chat TLS port,
#   `curl` over HTTPS with HTTP/1.1 and HTTP/2).
# - haproxy, the real load balancer whose PROXY protocol headers the hostile-input tests read.
# - promtool (Debian's prometheus package): checks the alert rules in ops/prometheus-rules.yml.
# - ii and irssi, real IRC clients that the IRC listener's tests drive (ii through its files and
#   FIFO, irssi in tmux).
set -euo pipefail

missing=()
command -v tmux >/dev/null || missing+=(tmux)
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
[ -x /usr/sbin/nats-server ] || missing+=(nats-server)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
[ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v promtool >/dev/null || missing+=(prometheus)
command -v ii >/dev/null || missing+=(ii)
command -v irssi >/dev/null || missing+=(irssi)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing what the tests need: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "error: installing needs root; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  "${as_root[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi
