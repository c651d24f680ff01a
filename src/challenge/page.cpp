#include "bawwab/challenge/page.hpp"

#include <algorithm>

#include "bawwab/challenge/proof_of_work.hpp"
#include "bawwab/challenge/return_path.hpp"
#include "binding.hpp"
#include "web.hpp"

namespace bawwab::challenge {
namespace {

// Every sentence a page shows. Arabic is the site's language; English for lang "en*".
struct Texts {
  std::string_view title;
  std::string_view js_intro;
  std::string_view js_working;
  std::string_view js_progress;  // "{n}" becomes the estimated percentage
  std::string_view js_done;
  std::string_view js_failed;
  std::string_view noscript;
  std::string_view noscript_link;
  std::string_view other_nojs;
  std::string_view other_accessible;
  std::string_view nojs_intro;
  std::string_view nojs_cookies;
  std::string_view nojs_manual;
  std::string_view nojs_link;
  std::string_view acc_heading;
  std::string_view acc_why;
  std::string_view acc_how;
  std::string_view acc_button;
  std::string_view acc_cookie_problem;
  std::string_view contact;
};

constexpr Texts kArabic{
    "التحقق من المتصفح",
    "نتأكد من أنك تتصفح الموقع بمتصفح عادي لا ببرنامج آلي. يستغرق ذلك ثوانيَ قليلة، ثم تنتقل "
    "تلقائيًا إلى الصفحة التي طلبتها.",
    "جارٍ التحقق…",
    "جارٍ التحقق… (نحو {n}٪)",
    "تم التحقق. جارٍ نقلك إلى الصفحة…",
    "تعذّر إجراء التحقق في متصفحك. استخدم التحقق من دون جافاسكربت عبر الرابط أدناه.",
    "جافاسكربت معطّلة في متصفحك، ولذلك لا يمكن إجراء التحقق التلقائي.",
    "تابِع بالتحقق من دون جافاسكربت",
    "التحقق من دون جافاسكربت",
    "صفحة تحقق ميسّرة بنص فقط",
    "نتأكد من أنك تتصفح الموقع بمتصفح عادي. انتظر بضع ثوانٍ وستنتقل تلقائيًا إلى الصفحة التي "
    "طلبتها.",
    "يتطلب هذا التحقق أن تكون ملفات تعريف الارتباط (الكوكيز) مفعّلة لهذا الموقع.",
    "إن لم تنتقل تلقائيًا، فانتظر بضع ثوانٍ ثم",
    "اضغط هنا للمتابعة",
    "لماذا أرى هذه الصفحة؟",
    "يحمي هذا الموقع مقالاته من برامج جمع المحتوى الآلية، ولذلك نطلب من بعض الزوار التأكد من "
    "أنهم يستخدمون متصفحًا عاديًا. لا يحتاج هذا التحقق إلى جافاسكربت ولا إلى حل أي اختبار بصري، "
    "ولا نجمع فيه أي بيانات شخصية.",
    "للمتابعة افتح الرابط التالي. ستظهر صفحة انتظار قصيرة لبضع ثوانٍ، ثم تعود تلقائيًا إلى "
    "الصفحة التي طلبتها. يلزم أن تكون ملفات تعريف الارتباط (الكوكيز) مفعّلة لهذا الموقع.",
    "متابعة التحقق",
    "لم يُعِد متصفحك ملف تعريف الارتباط الذي أرسلناه للتحقق. يبدو أن ملفات تعريف الارتباط معطّلة "
    "لهذا الموقع؛ فعّلها ثم أعد المحاولة.",
    "إن واجهتك مشكلة في الوصول إلى الموقع فراسلنا على:",
};

constexpr Texts kEnglish{
    "Checking your browser",
    "We are making sure you are using an ordinary browser, not an automated program. This takes "
    "a few seconds, then you are taken to the page you asked for.",
    "Checking…",
    "Checking… (about {n}%)",
    "Done. Taking you to the page…",
    "The check could not run in your browser. Please use the check without JavaScript below.",
    "JavaScript is turned off in your browser, so the automatic check cannot run.",
    "Continue with the check without JavaScript",
    "Check without JavaScript",
    "Text-only accessible check",
    "We are making sure you are using an ordinary browser. Wait a few seconds and you will be "
    "taken to the page you asked for.",
    "This check needs cookies to be enabled for this site.",
    "If nothing happens, wait a few seconds, then",
    "continue here",
    "Why am I seeing this page?",
    "This site protects its articles from automated content scrapers, so we ask some visitors to "
    "confirm that they use an ordinary browser. This check needs no JavaScript and no visual "
    "puzzle, and collects no personal data.",
    "To continue, follow the link below. A short waiting page appears for a few seconds, then you "
    "return to the page you asked for. Cookies must be enabled for this site.",
    "Continue the check",
    "Your browser did not return the cookie we set for this check. Cookies seem to be disabled "
    "for this site; please enable them and try again.",
    "If you have trouble reaching the site, write to us:",
};

const Texts& texts_for(std::string_view lang) noexcept {
  if (lang.size() >= 2 && (lang[0] == 'e' || lang[0] == 'E') &&
      (lang[1] == 'n' || lang[1] == 'N') && (lang.size() == 2 || lang[2] == '-')) {
    return kEnglish;
  }
  return kArabic;
}

constexpr std::string_view kStyle =
    "<style>body{margin:0;background:#f4f4f1;color:#1b1b1b;font:1.05rem/1.8 system-ui,"
    "-apple-system,\"Segoe UI\",Tahoma,\"Noto Naskh Arabic\",sans-serif}main{max-width:36rem;"
    "margin:8vh auto;padding:1.5rem 1.75rem;background:#fff;border:1px solid #ddd;"
    "border-radius:.5rem}h1{font-size:1.4rem;margin:0 0 1rem}a{color:#0645ad}"
    ".btn{display:inline-block;padding:.6rem 1.4rem;background:#0645ad;color:#fff;"
    "border-radius:.4rem;text-decoration:none;font-weight:bold}small{color:#555}"
    "[role=alert]{border-inline-start:4px solid #b3261e;padding-inline-start:.75rem}</style>";

// The worker: SHA-256 in plain JS (crypto.subtle is unavailable on plain-HTTP origins) over
// challenge + ":" + counter, one compression per try once the challenge's whole 64-byte blocks are
// hashed (the midstate). Int32Arrays throughout: V8 keeps plain-array words above 2^30 as boxed
// numbers, which made it 3-4x slower. Worker i tries counters i, i+k, i+2k...; posts {n} when the
// hash has `d` leading zero bits, else {p} every 16384 tries for the progress line.
constexpr std::string_view kWorker =
    "var K=new Int32Array(["
    "0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,"
    "0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,"
    "0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,"
    "0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,"
    "0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,"
    "0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,"
    "0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,"
    "0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,"
    "0xc67178f2]),W=new Int32Array(64);\n"
    "function C(h,B,o){var i,x,y,t,u,a=h[0],b=h[1],c=h[2],d=h[3],e=h[4],f=h[5],g=h[6],k=h[7];"
    "for(i=0;i<16;i++)W[i]=B[o+4*i]<<24|B[o+4*i+1]<<16|B[o+4*i+2]<<8|B[o+4*i+3];"
    "for(i=16;i<64;i++){x=W[i-15];y=W[i-2];W[i]=((x>>>7|x<<25)^(x>>>18|x<<14)^x>>>3)+W[i-7]+"
    "((y>>>17|y<<15)^(y>>>19|y<<13)^y>>>10)+W[i-16]|0}"
    "for(i=0;i<64;i++){t=k+((e>>>6|e<<26)^(e>>>11|e<<21)^(e>>>25|e<<7))+(e&f^~e&g)+K[i]+W[i]|0;"
    "u=((a>>>2|a<<30)^(a>>>13|a<<19)^(a>>>22|a<<10))+(a&b^a&c^b&c)|0;"
    "k=g;g=f;f=e;e=d+t|0;d=c;c=b;b=a;a=t+u|0}"
    "h[0]=h[0]+a|0;h[1]=h[1]+b|0;h[2]=h[2]+c|0;h[3]=h[3]+d|0;h[4]=h[4]+e|0;h[5]=h[5]+f|0;"
    "h[6]=h[6]+g|0;h[7]=h[7]+k|0}\n"
    "onmessage=function(m){var s=m.data.c+\":\",z=m.data.d,n=m.data.s,st=m.data.k,L=s.length,"
    "F=L-L%64,r=L-F,B=new Uint8Array(128),H=new Int32Array([0x6a09e667,0xbb67ae85,0x3c6ef372,"
    "0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19]),h=new Int32Array(8),i,j,q,T,N,bits,"
    "cnt=0;"
    "for(i=0;i<F;i+=64){for(j=0;j<64;j++)B[j]=s.charCodeAt(i+j);C(H,B,0)}"
    "for(;;){B.fill(0);for(j=0;j<r;j++)B[j]=s.charCodeAt(F+j);q=\"\"+n;"
    "for(j=0;j<q.length;j++)B[r+j]=q.charCodeAt(j);T=r+q.length;B[T]=128;N=T+9>64?128:64;"
    "bits=(L+q.length)*8;B[N-4]=bits>>>24;B[N-3]=bits>>>16;B[N-2]=bits>>>8;B[N-1]=bits;"
    "h.set(H);C(h,B,0);if(N>64)C(h,B,64);"
    "if(h[0]>>>(32-z)===0){postMessage({n:n});return}"
    "n+=st;if(++cnt===16384){postMessage({p:cnt});cnt=0}}}";

// The page's script: reads its inputs from data- attributes (so the script itself is constant),
// starts half the cores' worth of workers (1 to 4) from a Blob URL, shows progress, and on an
// answer replaces the location with the verifier's URL (no history entry to come back to). Any
// failure (no Worker, a CSP or worker error) says so and points at the no-JS link.
constexpr std::string_view kScript =
    "(function(){var D=document.getElementById(\"b\").dataset,s=document.getElementById(\"s\"),"
    "z=+D.d,E=Math.pow(2,z),t=0,ws=[],done=0,u,i,n;"
    "function stop(){done=1;ws.forEach(function(w){w.terminate()})}"
    "function fail(){if(done)return;stop();s.textContent=D.f}"
    "function msg(m){if(done)return;if(m.data.n!==undefined){stop();s.textContent=D.ok;"
    "location.replace(D.u+\"&a=\"+m.data.n)}else{t+=m.data.p;"
    "s.textContent=D.p.replace(\"{n}\",Math.min(99,Math.floor(100*t/E)))}}"
    "if(!window.Worker||!window.Blob||!window.URL)return fail();"
    "try{u=URL.createObjectURL(new Blob([document.getElementById(\"w\").textContent],"
    "{type:\"text/javascript\"}))}catch(e){return fail()}"
    "n=Math.max(1,Math.min(4,(navigator.hardwareConcurrency||2)>>1));"
    "for(i=0;i<n;i++){var w;try{w=new Worker(u)}catch(e){return fail()}"
    "w.onmessage=msg;w.onerror=fail;ws.push(w);w.postMessage({c:D.c,d:z,s:i,k:n})}})();";

}  // namespace

std::string_view worker_script() noexcept { return kWorker; }

namespace {

std::string verify_url(const ChallengeConfig& cfg, std::string_view query_head,
                       std::string_view return_path) {
  std::string u(cfg.verify_path);
  u += '?';
  u += query_head;
  u += "r=";
  detail::append_query_value(u, return_path);
  return u;
}

std::string challenge_url(const ChallengeConfig& cfg, std::string_view challenge,
                          std::string_view extra, std::string_view return_path) {
  std::string head = "c=";
  detail::append_query_value(head, challenge);
  head += '&';
  head += extra;
  return verify_url(cfg, head, return_path);
}

void open_page(std::string& out, const ChallengeConfig& cfg, const Texts& t,
               std::string_view head_extra) {
  out += "<!DOCTYPE html>\n<html lang=\"";
  http::append_html_escaped(out, cfg.lang);
  out += "\" dir=\"";
  http::append_html_escaped(out, cfg.dir);
  out +=
      "\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">";
  out += head_extra;
  out += "<title>";
  http::append_html_escaped(out, t.title);
  if (!cfg.site_name.empty()) {
    out += " | ";
    http::append_html_escaped(out, cfg.site_name);
  }
  out += "</title>";
  out += kStyle;
  out += "</head>\n<body>";
}

void heading(std::string& out, const ChallengeConfig& cfg, std::string_view fallback) {
  out += "<h1>";
  const std::string_view name = cfg.site_name.empty() ? fallback : std::string_view(cfg.site_name);
  http::append_html_escaped(out, name);
  out += "</h1>\n";
}

void link(std::string& out, std::string_view href, std::string_view text,
          std::string_view cls = {}) {
  out += "<a href=\"";
  http::append_html_escaped(out, href);
  out += '"';
  if (!cls.empty()) {
    out += " class=\"";
    out += cls;
    out += '"';
  }
  out += '>';
  http::append_html_escaped(out, text);
  out += "</a>";
}

// The contact line: a mailto: link for an address, a link for an http(s) URL, else plain text.
// Only those two schemes become links: a configured "javascript:" stays inert text.
void contact_line(std::string& out, const ChallengeConfig& cfg, const Texts& t) {
  if (cfg.contact.empty()) return;
  const std::string_view c = cfg.contact;
  out += "<p><small>";
  http::append_html_escaped(out, t.contact);
  out += ' ';
  const bool url = c.starts_with("https://") || c.starts_with("http://");
  const bool mail = !url && c.find('@') != std::string_view::npos &&
                    c.find_first_of(" :/<>\"'") == std::string_view::npos;
  if (url) {
    link(out, c, c);
  } else if (mail) {
    link(out, std::string("mailto:") + std::string(c), c);
  } else {
    http::append_html_escaped(out, c);
  }
  out += "</small></p>\n";
}

std::string_view nonce_of(std::string_view challenge) noexcept {
  std::string_view part[6];
  return detail::split_dots(challenge, part) ? part[4] : std::string_view{};
}

}  // namespace

Headers page_headers() {
  return {
      {"Content-Type", "text/html; charset=utf-8"},
      // A challenge page is for one client and one moment: no cache may keep or share it.
      {"Cache-Control", "no-store"},
      // Nothing is loaded from anywhere; the workers come from a blob: URL made by the inline
      // script (worker-src for CSP3 browsers, child-src and script-src for older ones). Inline
      // script and style carry only constant code; every variable part is escaped data.
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'unsafe-inline' blob:; worker-src blob:; child-src blob:; "
       "style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
  };
}

std::string check_cookie_name(const ChallengeConfig& config, std::string_view nonce_text) {
  return config.cookie_name + "_chk_" + std::string(nonce_text.substr(0, 12));
}

std::string render_js_page(const ChallengeConfig& config, std::string_view challenge,
                           unsigned difficulty, std::string_view return_path) {
  const Texts& t = texts_for(config.lang);
  std::string out;
  out.reserve(7 * 1024);
  open_page(out, config, t, {});
  out += "<main id=\"b\" data-c=\"";
  http::append_html_escaped(out, challenge);
  out += "\" data-d=\"";
  out += std::to_string(difficulty);
  out += "\" data-u=\"";
  http::append_html_escaped(out, challenge_url(config, challenge, {}, return_path));
  out += "\" data-p=\"";
  http::append_html_escaped(out, t.js_progress);
  out += "\" data-ok=\"";
  http::append_html_escaped(out, t.js_done);
  out += "\" data-f=\"";
  http::append_html_escaped(out, t.js_failed);
  out += "\">\n";
  heading(out, config, t.title);
  out += "<p>";
  http::append_html_escaped(out, t.js_intro);
  out += "</p>\n<p id=\"s\" role=\"status\" aria-live=\"polite\">";
  http::append_html_escaped(out, t.js_working);
  out += "</p>\n";
  const std::string nojs = verify_url(config, "level=nojs&", return_path);
  const std::string accessible = verify_url(config, "level=accessible&", return_path);
  out += "<noscript><p role=\"alert\"><strong>";
  http::append_html_escaped(out, t.noscript);
  out += "</strong> ";
  link(out, nojs, t.noscript_link);
  out += "</p></noscript>\n<p><small>";
  link(out, nojs, t.other_nojs);
  out += " · ";
  link(out, accessible, t.other_accessible);
  out += "</small></p>\n";
  contact_line(out, config, t);
  out += "</main>\n<script type=\"text/plain\" id=\"w\">";
  out += kWorker;
  out += "</script>\n<script>";
  out += kScript;
  out += "</script>\n</body></html>\n";
  return out;
}

std::string render_nojs_page(const ChallengeConfig& config, std::string_view challenge,
                             std::string_view return_path) {
  const Texts& t = texts_for(config.lang);
  const std::string next = challenge_url(config, challenge, "nojs=1&", return_path);
  std::string refresh = "<meta http-equiv=\"refresh\" content=\"";
  refresh += std::to_string(config.nojs_delay.count());
  refresh += ";url=";
  http::append_html_escaped(refresh, next);
  refresh += "\">";
  std::string out;
  out.reserve(4 * 1024);
  open_page(out, config, t, refresh);
  out += "<main>\n";
  heading(out, config, t.title);
  out += "<p>";
  http::append_html_escaped(out, t.nojs_intro);
  out += "</p>\n<p>";
  http::append_html_escaped(out, t.nojs_cookies);
  out += "</p>\n<p>";
  http::append_html_escaped(out, t.nojs_manual);
  out += ' ';
  link(out, next, t.nojs_link);
  out += ".</p>\n";
  contact_line(out, config, t);
  out += "</main>\n</body></html>\n";
  return out;
}

std::string render_accessible_page(const ChallengeConfig& config, std::string_view return_path,
                                   bool cookie_problem) {
  const Texts& t = texts_for(config.lang);
  std::string out;
  out.reserve(4 * 1024);
  open_page(out, config, t, {});
  out += "<main>\n";
  heading(out, config, t.title);
  if (cookie_problem) {
    out += "<p role=\"alert\"><strong>";
    http::append_html_escaped(out, t.acc_cookie_problem);
    out += "</strong></p>\n";
  }
  out += "<h2>";
  http::append_html_escaped(out, t.acc_heading);
  out += "</h2>\n<p>";
  http::append_html_escaped(out, t.acc_why);
  out += "</p>\n<p>";
  http::append_html_escaped(out, t.acc_how);
  out += "</p>\n<p>";
  link(out, verify_url(config, "level=nojs&", return_path), t.acc_button, "btn");
  out += "</p>\n";
  contact_line(out, config, t);
  out += "</main>\n</body></html>\n";
  return out;
}

ChallengeReply challenge_reply(const ChallengeConfig& config, const KeyRing& keys, Level level,
                               unsigned difficulty, const PassContext& context,
                               std::string_view target, bool tls, WallTime now) {
  ChallengeReply reply;
  reply.status = config.page_status;
  reply.headers = page_headers();
  const std::string return_path = safe_return_path(target);
  if (level == Level::accessible) {
    reply.body = render_accessible_page(config, return_path);
    return reply;
  }
  if (level == Level::js) {
    difficulty =
        std::clamp(difficulty == 0 ? config.min_difficulty : difficulty, 1u, kMaxDifficulty);
  } else {
    difficulty = 0;
  }
  const std::string challenge =
      issue_challenge(keys, context, difficulty, return_path, now, config.challenge_ttl);
  reply.body = level == Level::js ? render_js_page(config, challenge, difficulty, return_path)
                                  : render_nojs_page(config, challenge, return_path);
  reply.headers.emplace_back("Set-Cookie",
                             detail::set_cookie(check_cookie_name(config, nonce_of(challenge)), "1",
                                                config.verify_path, config.challenge_ttl, tls));
  return reply;
}

}  // namespace bawwab::challenge
