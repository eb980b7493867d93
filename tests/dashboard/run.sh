#!/usr/bin/env bash
# run.sh - dashboard suite: the web dashboard under /_/ checked with curl, then used in a real headless Chromium over WebDriver.
#
# Usage: tests/dashboard/run.sh BUILD. Deploys hello (two versions) and a
# trapping function, logs in through the address `kernless dashboard`
# prints, sends traffic and reads the live numbers off the page, follows a
# log, rolls back with the page's button, checks a wrong token is refused,
# and saves BUILD/test-artifacts/dashboard.png (and dashboard-phone.png).
# Prints "dashboard: N passed, N failed, N skipped" last.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dashboard/webdriver.sh
W=$BUILD/dashboard-test
ART=$BUILD/test-artifacts
rm -rf "$W"; mkdir -p "$W/fn" "$ART"
LOADPID=
finish() {
  [ -n "$LOADPID" ] && { kill "$LOADPID" 2>/dev/null; wait "$LOADPID" 2>/dev/null; }
  wd_quit
  kl_stop
  kl_finish dashboard
  exit $?
}
trap finish EXIT

# ---- functions and server -----------------------------------------------------
cc_wasm() { clang --target=wasm32-wasi -O2 "$1" -o "$2" -Wl,--strip-debug 2>>"$W/build.log"; }
if cc_wasm examples/wagi-hello/hello.c "$W/fn/hello.wasm" && cc_wasm tests/server/fn/v2.c "$W/fn/v2.wasm" &&
   cc_wasm tests/server/fn/trap.c "$W/fn/trap.wasm"; then
  pass build_functions
else
  fail build_functions "$(head -c 300 "$W/build.log")"; exit 1
fi
export KERNLESS_DATA=$W/data
unset KERNLESS_TOKEN
kl_serve "$W/serve.out" "$W/serve.err" --data "$W/data"
[ -n "$PORT" ] || { fail serve_starts "$(tail -c 300 "$W/serve.err")"; exit 1; }
TOKEN=$(cat "$W/data/admin.token")
deploy() { "$KL" deploy "$@" >>"$W/deploy.out" 2>&1; }
if deploy hello "$W/fn/hello.wasm" --route /hello && deploy hello "$W/fn/v2.wasm" --route /hello &&
   deploy boom "$W/fn/trap.wasm" --route /boom; then
  pass deploy_functions
else
  fail deploy_functions "$(tail -c 300 "$W/deploy.out")"; exit 1
fi
check serves_v2 "version two" "$(curl -s "$U/hello")"

# ---- the assets, with curl --------------------------------------------------------
hdr=$(curl -s -D - -o "$W/index.html" "$ADMIN/_/")
check_has page_200 "HTTP/1.1 200" "$hdr"
check_has page_html "Content-Type: text/html" "$hdr"
csp=$(echo "$hdr" | grep -i '^Content-Security-Policy:' | tr -d '\r')
check_has csp_script_self "script-src 'self';" "$csp"
check_has csp_default_none "default-src 'none'" "$csp"
case "$csp" in *unsafe-inline*|*unsafe-eval*|*"*"*) fail csp_strict "$csp" ;; *) pass csp_strict ;; esac
check_has page_nosniff "X-Content-Type-Options: nosniff" "$hdr"
check_has page_no_framing "frame-ancestors 'none'" "$csp"
# No inline code at all: every <script> has a src and is empty; no on*= handlers, no style.
check page_scripts_external "$(grep -oi '<script' "$W/index.html" | wc -l)" \
  "$(grep -oiE '<script src="/_/[a-z]+\.js"[^>]*></script>' "$W/index.html" | wc -l)"
check page_no_inline_handlers_or_styles "" "$(grep -oiE '[[:space:]]on[a-z]+=|[[:space:]]style=|<style' "$W/index.html")"
js_hdr=$(curl -s -D - -o "$W/app.js" "$ADMIN/_/app.js")
check_has js_type "Content-Type: text/javascript" "$js_hdr"
check_has js_nosniff "X-Content-Type-Options: nosniff" "$js_hdr"
check js_same_as_source "$(sha256sum <src/server/dashboard/app.js)" "$(sha256sum <"$W/app.js")"
check_has css_type "Content-Type: text/css" "$(curl -s -D - -o /dev/null "$ADMIN/_/app.css")"
check redirect_to_slash "308 /_/" "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$ADMIN/_" | sed "s|$ADMIN||")"
check unknown_asset_404 404 "$(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/_/secret.txt")"
check post_asset_405 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$ADMIN/_/")"
if deploy takeover "$W/fn/hello.wasm" --route '/_/...'; then fail route_reserved "a function took /_/"
else check_has route_reserved "reserved" "$(tail -n 1 "$W/deploy.out")"; fi

# ---- /v1/stats ------------------------------------------------------------------
check stats_no_token_401 401 "$(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/v1/stats")"
check stats_wrong_token_401 401 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer 00ff' "$ADMIN/v1/stats")"
for _ in 1 2 3; do curl -s "$U/boom" >/dev/null; done
st=$(curl -s -H "Authorization: Bearer $TOKEN" "$ADMIN/v1/stats?window=5")
check stats_boom_trap 3 "$(echo "$st" | jq '.functions[] | select(.name == "boom") | .causes.trap')"
check stats_boom_errors 3 "$(echo "$st" | jq '.functions[] | select(.name == "boom") | .errors')"
check stats_hello_counted 1 "$(echo "$st" | jq '.functions[] | select(.name == "hello") | .requests')"
check stats_total_sums "$(echo "$st" | jq '[.functions[].requests] | add')" "$(echo "$st" | jq '.total.requests')"
check stats_p50_le_p99 true "$(echo "$st" | jq '.total.recent | .p50_us > 0 and .p50_us <= .p99_us')"
check stats_no_api_traffic false "$(echo "$st" | jq '[.functions[].name] | index("-") != null')"

# ---- kernless dashboard ------------------------------------------------------------
url=$("$KL" dashboard 2>"$W/dash.err")
check dashboard_cli_url "$ADMIN/_/#token=$TOKEN" "$url"
out=$(KERNLESS_TOKEN=wrong "$KL" dashboard 2>&1); rc=$?
if [ $rc -ne 0 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && [[ $out == "kernless: dashboard: HTTP 401"* ]]; then
  pass dashboard_cli_wrong_token
else
  fail dashboard_cli_wrong_token "exit $rc: $out"
fi

# ---- in the browser ----------------------------------------------------------------
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  skip browser "chromium and chromium-driver are not installed (scripts/deps.sh installs them)"
  kl_end; exit 0
fi
if ! wd_start "$W/chrome" 1280 1100 2>"$W/wd.err"; then
  fail browser_starts "$(head -c 400 "$W/wd.err")"; exit 1
fi
pass browser_starts
visible() { echo "return !document.getElementById('$1').hidden;"; }
# The tab's whole sessionStorage, on the dashboard's page: "/_/ {}" when
# nothing is kept. (Comparing one key's getItem with null passed whatever the
# key was called, and on any page where the script could not run.)
stored() { wd_text "return location.pathname + ' ' + JSON.stringify(Object.assign({}, sessionStorage));"; }

# A wrong token in the fragment: refused, the log-in form stays, nothing kept.
wd_go "$ADMIN/_/#token=0123456789abcdef"
if wd_until 10 "return !document.getElementById('login').hidden && document.getElementById('app').hidden &&
                document.getElementById('login-error').textContent.includes('refused');"; then
  pass wrong_token_login_form
else
  fail wrong_token_login_form "$(wd_text "return document.body.innerText.slice(0, 300);")"
fi
check wrong_token_not_kept "/_/ {}" "$(stored)"
check wrong_token_fragment_cleared '""' "$(wd_js "return location.hash;")"
# The form with a wrong token: still refused.
wd_type '#token' 'not-the-token' && wd_click '#login-button'
if wd_until 10 "return document.getElementById('app').hidden &&
                document.getElementById('login-error').textContent.includes('refused');"; then
  pass wrong_token_form_refused
else
  fail wrong_token_form_refused "$(wd_text "return document.body.innerText.slice(0, 300);")"
fi

# The printed address logs in; the token leaves the address bar for sessionStorage.
wd_go "$url"
if wd_until 10 "$(visible app)"; then pass login_via_fragment
else fail login_via_fragment "$(wd_text "return document.body.innerText.slice(0, 300);")"; fi
check token_out_of_url false "$(wd_js "return location.href.includes('token');")"
check token_in_session_storage "\"$TOKEN\"" "$(wd_js "return sessionStorage.getItem('kernless-token');")"
# The control for the "nothing kept" checks: `stored` sees a kept token.
check_has stored_sees_kept_token "$TOKEN" "$(stored)"

# The browser enforces the policy: an injected inline script does not run,
# and everything the page loaded came from this server.
check csp_blocks_inline_script true "$(wd_js "const s = document.createElement('script');
  s.textContent = 'window.injected = 1;'; document.body.appendChild(s); return window.injected === undefined;")"
check only_own_origin true "$(wd_js "return performance.getEntriesByType('resource').every((e) => e.name.startsWith(location.origin + '/'));")"

# The deployed functions, their routes and versions.
rowjs() { echo "const r = document.querySelector('#functions tr[data-name=\"$1\"]'); return r ? r.querySelector('.$2').textContent : null;"; }
if wd_until 10 "return document.querySelectorAll('#functions tbody tr').length === 2;"; then
  pass functions_listed
else
  fail functions_listed "$(wd_text "return document.getElementById('functions').innerText;")"
fi
check hello_route '"/hello"' "$(wd_js "$(rowjs hello route)")"
check hello_version '"v2 of 2"' "$(wd_js "$(rowjs hello version)")"
check boom_route '"/boom"' "$(wd_js "$(rowjs boom route)")"
# Each function's tier, and when the optimised image was swapped in: the
# optimiser builds in the background (seconds for these small modules). The
# cell names the same tier as the API.
tiercell="const c = document.querySelector('#functions tr[data-name=\"hello\"] .tier');"
if wd_until 90 "$tiercell return c !== null && c.dataset.tier === 'optimised' && c.textContent.includes('swapped') && c.title.startsWith('swapped in at ');"; then
  pass tier_shown
else
  fail tier_shown "cell: $(wd_text "$tiercell return c ? c.textContent + ' / ' + c.title : 'no tier cell';")"
fi
check tier_as_api "\"$(curl -s -H "Authorization: Bearer $TOKEN" "$ADMIN/v1/functions/hello" | jq -r .tier)\"" "$(wd_js "$tiercell return c ? c.dataset.tier : null;")"
check tiers_named true "$(wd_js "return [...document.querySelectorAll('#functions tbody .tier')].every((c) => ['baseline', 'optimising', 'optimised'].includes(c.dataset.tier));")"
check_has isolation_shown "isolation: " "$(wd_text "return document.getElementById('server-info').textContent;")"

# Traffic moves the numbers: the requests counter, requests/s and the chart.
num() { wd_text "return document.getElementById('$1').textContent;"; }
wd_until 5 "return /^[0-9]+\$/.test(document.getElementById('total-requests').textContent);"
before=$(num total-requests)
curl -s -o /dev/null "$U/hello?n=[1-150]" &
LOADPID=$!
rps_seen=
for _ in $(seq 1 40); do
  r=$(num total-rps)
  case $r in ''|-|0.0) ;; *) rps_seen=$r; break ;; esac
  sleep 0.25
done
wait "$LOADPID"; LOADPID=
if [ -n "$rps_seen" ]; then pass rps_moves; else fail rps_moves "requests/s stayed at '$(num total-rps)' under load"; fi
if wd_until 10 "return Number(document.getElementById('total-requests').textContent) >= $before + 150;"; then
  pass requests_counter_moves
else
  fail requests_counter_moves "before $before, after $(num total-requests), want +150"
fi
check hello_row_requests true "$(wd_js "return Number(document.querySelector('#functions tr[data-name=\"hello\"] .requests').textContent) >= 151;")"
check p50_shown true "$(wd_js "return /[0-9] (ms|\u00b5s)\$/.test(document.getElementById('total-p50').textContent);")"
check p99_shown true "$(wd_js "return /[0-9] (ms|\u00b5s)\$/.test(document.getElementById('total-p99').textContent);")"
# The requests/s line has a point above zero (y = 100 is zero in its viewBox).
check chart_drawn true "$(wd_js "const p = document.querySelector('#total-charts polyline'); return !!p && p.getAttribute('points').split(' ').some((xy) => Number(xy.split(',')[1]) < 99);")"
# Errors by cause: the trapping function's count and the cause in the chart's legend.
for _ in 1 2 3 4; do curl -s "$U/boom" >/dev/null; done
if wd_until 10 "return document.getElementById('total-errors').textContent === '7' &&
                document.getElementById('total-charts').textContent.includes('trap');"; then
  pass errors_by_cause_shown
else
  fail errors_by_cause_shown "errors '$(num total-errors)'; charts: $(wd_text "return document.getElementById('total-charts').textContent;" | head -c 200)"
fi

# Nodes: hidden while the server has no GET /v1/nodes (404), shown when it has.
nodes_code=$(curl -s -o "$W/nodes.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$ADMIN/v1/nodes")
if [ "$nodes_code" = 404 ]; then
  check nodes_hidden_without_endpoint true "$(wd_js "return document.getElementById('nodes-panel').hidden;")"
  # Its rendering, with the page's fetch answering /v1/nodes as a cluster would.
  wd_js "const real = window.fetch; window.fetch = (u, o) => u === '/v1/nodes'
    ? Promise.resolve(new Response(JSON.stringify({nodes: [
        {name: 'n1', address: '10.0.0.1:8080', isolation: 'kvm', version: 'x', last_seen_ms: Date.now() - 800, healthy: true},
        {name: 'n2', address: '10.0.0.2:8080', isolation: 'process', version: 'x', last_seen_ms: Date.now() - 65000, healthy: false}]}),
        {status: 200, headers: {'Content-Type': 'application/json'}}))
    : real(u, o); refreshNodes(); return true;" >/dev/null
  if wd_until 10 "const t = document.getElementById('nodes').tBodies[0].innerText;
                  return !document.getElementById('nodes-panel').hidden && t.includes('n2') &&
                         t.includes('unhealthy') && t.includes('10.0.0.1:8080') && /6[5-9][.][0-9] s ago/.test(t);"; then
    pass nodes_panel_renders
  else
    fail nodes_panel_renders "$(wd_text "return document.getElementById('nodes-panel').innerText;")"
  fi
else
  n=$(jq '.nodes | length' "$W/nodes.json")
  wd_until 10 "return !document.getElementById('nodes-panel').hidden &&
               document.querySelectorAll('#nodes tbody tr').length === $n;" &&
    pass nodes_panel_shown || fail nodes_panel_shown "GET /v1/nodes answers $nodes_code with $n nodes"
fi

# A live log tail with request ids: select boom, then call it once more.
wd_click '#functions tr[data-name="boom"] .name button'
wd_until 5 "$(visible detail)" && pass detail_opens || fail detail_opens "no detail panel"
rid=$(curl -s -D - -o /dev/null "$U/boom" | tr -d '\r' | sed -n 's/^X-Request-Id: //p')
if [ -n "$rid" ] && wd_until 30 "const t = document.getElementById('log').textContent; return t.includes('$rid') && t.includes('about to trap');"; then
  pass log_tail_live
else
  fail log_tail_live "request $rid not in: $(wd_text "return document.getElementById('log').textContent.slice(-300);")"
fi
wd_screenshot "$ART/dashboard.png"   # traffic on the charts, a trap in the log
check boom_no_rollback true "$(wd_js "return document.querySelector('#functions tr[data-name=\"boom\"] .rollback').disabled;")"

# Roll back from the page: the next curl gets the old version.
wd_click '#functions tr[data-name="hello"] .name button'
wd_until 10 "return document.querySelectorAll('#versions li').length === 2;" && pass versions_listed ||
  fail versions_listed "$(wd_text "return document.getElementById('versions').textContent;")"
if wd_click '#functions tr[data-name="hello"] .rollback'; then pass rollback_clicked
else fail rollback_clicked "no rollback button"; fi
got=
for _ in $(seq 1 50); do got=$(curl -s "$U/hello"); [ "$got" = "Hello from Kernless!" ] && break; sleep 0.1; done
check rollback_serves_v1 "Hello from Kernless!" "$got"
wd_until 10 "return document.querySelector('#functions tr[data-name=\"hello\"] .version').textContent === 'v1 of 2';" &&
  pass rollback_shown || fail rollback_shown "$(wd_text "$(rowjs hello version)")"
check_has rollback_notice "hello now serves v1" "$(num notice)"

# The screenshot (taken above, with traffic on the charts).
if [ "$(head -c 8 "$ART/dashboard.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
   [ "$(stat -c %s "$ART/dashboard.png")" -gt 10000 ]; then
  pass screenshot_saved
else
  fail screenshot_saved "$ART/dashboard.png is not a PNG screenshot"
fi

# A phone-sized window: nothing wider than the screen, the numbers still there.
wd_window 390 844
sleep 0.5
check phone_no_horizontal_scroll true "$(wd_js "return document.documentElement.scrollWidth <= window.innerWidth;")"
check phone_cards_two_columns true "$(wd_js "const a = document.getElementById('total-rps').parentElement.getBoundingClientRect(); return a.width < window.innerWidth / 2;")"
wd_screenshot "$ART/dashboard-phone.png"

# Log out: back to the form, the token gone from the tab.
wd_click '#logout'
wd_until 5 "$(visible login)" && pass logout_shows_login || fail logout_shows_login "no log-in form"
check logout_forgets_token "/_/ {}" "$(stored)"
# And the form logs in with the right token.
wd_type '#token' "$TOKEN" && wd_click '#login-button'
wd_until 10 "$(visible app)" && pass login_via_form || fail login_via_form "$(num login-error)"

# The token never reached the server's log (the fragment is never sent).
check token_never_logged 0 "$(cat "$W/serve.out" "$W/serve.err" | grep -c "$TOKEN")"

# The suite ran to its end (tests/lib.sh: otherwise it counts suite_died_midway).
kl_end
