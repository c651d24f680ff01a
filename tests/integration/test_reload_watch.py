"""The optional file watch (issue 3: "SIGHUP (and an optional file watch) re-reads config and
rules"), through the real binary and a fake origin, with no signal sent:

- a rules file replaced the way editors and deployment tools do it (write + rename) takes effect;
- a rules file broken in place is refused: every error in /status, the old rules keep serving;
  fixing it reloads again;
- an edited page template is served after the reload;
- a new file in a rules directory joins the set; an edit of the config file itself reloads;
- with the watch off (the default) nothing happens until SIGHUP.

Every reload is checked in /status (generation, last_reload.trigger == "file watch")."""

import os
import time
import unittest

from harness import FakeOrigin, ProxyTestCase, make_tempdir, scaled, simple_get, wait_until
from protection_support import proxy_config, reload_and_wait, start_proxy, status, write_file


def replace_file(path, text):
    """Write a new file and rename it over the old one (vim, ansible, kubectl cp...)."""
    tmp = path + ".tmp~"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def rule(rule_id, path, status_code=403, extra=""):
    return ("  - { id: %s, when: { path: %s }, then: { block: { status: %d%s } } }\n"
            % (rule_id, path, status_code, extra))


class FileWatch(ProxyTestCase):

    def setUp(self):
        self.origin = FakeOrigin.start(self)
        self.dir = make_tempdir(self, "bawwab-watch-")
        self.site = os.path.join(self.dir, "site.yaml")
        write_file(os.path.join(self.dir, "gone.html"), "<p>gone {{ request_id }}</p>\n")
        write_file(self.site, "pages: { gone: gone.html }\nrules:\n" + rule("r1", "/one"))
        self.proxy, self.log = start_proxy(
            self, self.origin.url, [self.site],
            extra="reload: { watch: true, debounce: 100ms }")
        self.port = self.proxy.port

    def get(self, path):
        return simple_get(self.port, path, "news.test")

    def wait_reload(self, generation=None, failed=None, timeout=None):
        """Until /status shows the file watch's reload: the generation (or the failure count)
        reached. Returns (status, seconds waited)."""
        t0 = time.monotonic()

        def done():
            st = status(self.proxy)
            lr = st["last_reload"]
            if generation is not None and st["config"]["generation"] >= generation:
                return st
            if failed is not None and lr["failed_total"] >= failed:
                return st
            return None
        st = wait_until(done, timeout or scaled(5), 0.01, "a reload by the file watch")
        self.assertEqual(st["last_reload"]["trigger"], "file watch", st)
        return st, time.monotonic() - t0

    def test_rename_over_a_rules_file_reloads_without_a_signal(self):
        self.assertEqual(self.get("/two").status, 200)
        t0 = time.monotonic()
        replace_file(self.site, "pages: { gone: gone.html }\nrules:\n" + rule("r1", "/one")
                     + rule("r2", "/two", 410))
        st, _ = self.wait_reload(generation=2)
        took = time.monotonic() - t0
        self.assertTrue(st["config"]["watch"], st)
        self.assertEqual(st["last_reload"]["result"], "ok", st)
        self.assertEqual(self.get("/two").status, 410)
        # debounce (100 ms) + compile: well within the 1 s.
        self.assertLess(took, scaled(1.0), "the new rule took %.3f s" % took)
        self.proxy.wait_line(r"file watch: .*site\.yaml changed, reloading")

    def test_broken_file_keeps_the_old_rules_and_a_fix_reloads(self):
        with open(self.site, "w") as f:  # in place, as `echo >` or a careless editor does
            f.write("rules:\n  - { id: r1, when: { pth: /one }, then: block }\n")
        st, _ = self.wait_reload(failed=1)
        lr = st["last_reload"]
        self.assertEqual(lr["result"], "failed", st)
        self.assertTrue(any("site.yaml:2:23" in e and "did you mean 'path'" in e
                            for e in lr["errors"]), lr)
        self.assertEqual(st["config"]["generation"], 1)
        self.assertEqual(self.get("/one").status, 403)  # the old rules still serve

        replace_file(self.site, "rules:\n" + rule("r1", "/one", 451))
        st, _ = self.wait_reload(generation=2)
        self.assertEqual(st["last_reload"]["result"], "ok", st)
        self.assertEqual(self.get("/one").status, 451)

    def test_an_edited_page_template_is_served_after_the_reload(self):
        replace_file(self.site, "pages: { gone: gone.html }\nrules:\n"
                     + rule("r1", "/one", 410, ", page: gone"))
        self.wait_reload(generation=2)
        r = self.get("/one")
        self.assertEqual((r.status, r.body[:8]), (410, b"<p>gone "), r)
        replace_file(os.path.join(self.dir, "gone.html"), "<p>withdrawn</p>\n")
        self.wait_reload(generation=3)
        r = self.get("/one")
        self.assertEqual((r.status, r.body), (410, b"<p>withdrawn</p>\n"), r)

    def test_editing_the_config_file_reloads(self):
        other = write_file(os.path.join(self.dir, "other.yaml"), "rules:\n" + rule("o", "/other"))
        self.assertEqual(self.get("/other").status, 200)
        self.proxy.write_config(proxy_config(
            self.origin.url, [self.site, other], "reload: { watch: true, debounce: 100ms }",
            os.path.join(self.proxy.dir, "access.log")))
        self.wait_reload(generation=2)
        self.assertEqual(self.get("/other").status, 403)
        # other.yaml is watched from now on.
        replace_file(other, "rules:\n" + rule("o", "/other", 429))
        self.wait_reload(generation=3)
        self.assertEqual(self.get("/other").status, 429)


class DirectorySource(ProxyTestCase):

    def test_a_new_file_in_a_rules_directory_joins_the_set(self):
        origin = FakeOrigin.start(self)
        d = os.path.join(make_tempdir(self, "bawwab-watch-dir-"), "site.d")
        os.mkdir(d)
        write_file(os.path.join(d, "10-base.yaml"), "rules:\n" + rule("base", "/base"))
        proxy, _ = start_proxy(self, origin.url, [d],
                               extra="reload: { watch: true, debounce: 100ms }")
        self.assertEqual(simple_get(proxy.port, "/new", "news.test").status, 200)
        write_file(os.path.join(d, "20-new.yaml"), "rules:\n" + rule("new", "/new", 451))
        write_file(os.path.join(d, "notes.txt"), "not a rules file")

        def reloaded():
            st = status(proxy)
            return st if st["config"]["generation"] >= 2 else None
        st = wait_until(reloaded, scaled(5), 0.01, "the reload")
        self.assertEqual(st["last_reload"]["trigger"], "file watch")
        self.assertEqual(simple_get(proxy.port, "/new", "news.test").status, 451)


class WatchOff(ProxyTestCase):

    def test_without_the_watch_only_sighup_reloads(self):
        origin = FakeOrigin.start(self)
        d = make_tempdir(self, "bawwab-nowatch-")
        site = write_file(os.path.join(d, "site.yaml"), "rules:\n" + rule("a", "/a"))
        proxy, _ = start_proxy(self, origin.url, [site])
        replace_file(site, "rules:\n" + rule("a", "/a", 451))
        time.sleep(0.6)
        st = status(proxy)
        self.assertEqual((st["config"]["generation"], st["config"]["watch"]), (1, False), st)
        self.assertEqual(simple_get(proxy.port, "/a", "news.test").status, 403)
        st, _ = reload_and_wait(proxy)
        self.assertEqual(st["last_reload"]["trigger"], "SIGHUP", st)
        self.assertEqual(simple_get(proxy.port, "/a", "news.test").status, 451)


if __name__ == "__main__":
    unittest.main()
