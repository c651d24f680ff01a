"""scripts/update-crawler-ranges.sh on local files (--from DIR): each source format (Google's
prefixes layout, Ahrefs' address list, plain text) becomes a range file bawwab loads, and every
safety check keeps the old file when a download is suspicious. No network, no bawwab binary."""
import json
import os
import subprocess
import tempfile
import unittest

SOURCE_DIR = os.environ.get("BAWWAB_SOURCE_DIR",
                            os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(SOURCE_DIR, "scripts", "update-crawler-ranges.sh")
NETWORKS = os.path.join(SOURCE_DIR, "rules", "networks")

# The names the script refreshes (its --help says them too).
NAMES = ["googlebot", "bingbot", "applebot", "duckduckbot", "qwantbot", "mojeekbot",
         "marginalia", "ahrefsbot", "telegrambot"]


def ranges(path):
    with open(path, encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


class UpdateCrawlerRanges(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.src = os.path.join(self.tmp.name, "src")
        self.dir = os.path.join(self.tmp.name, "networks")
        os.makedirs(self.src)
        os.makedirs(self.dir)

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, body):
        with open(os.path.join(self.src, name), "w", encoding="utf-8") as f:
            f.write(body if isinstance(body, str) else json.dumps(body))

    def run_script(self, *names, force=False):
        args = [SCRIPT, "--dir", self.dir, "--from", self.src]
        for n in names:
            args += ["--only", n]
        if force:
            args.append("--force")
        return subprocess.run(args, capture_output=True, text=True, timeout=60)

    def test_every_name_has_a_shipped_file(self):
        for name in NAMES:
            self.assertTrue(os.path.exists(os.path.join(NETWORKS, name + ".txt")), name)
        out = subprocess.run([SCRIPT, "--help"], capture_output=True, text=True).stdout
        for name in NAMES:
            self.assertIn(name, out)

    def test_unknown_name_is_refused(self):
        r = self.run_script("nosuchbot")
        self.assertEqual(r.returncode, 2, r.stderr)

    def test_each_format(self):
        self.write("qwantbot.json", {"creationTime": "2026-12-01T00:00:00", "prefixes": [
            {"ipv6Prefix": "2a01:cb19:8000::/40"}, {"ipv4Prefix": "194.187.171.0/24"}]})
        self.write("mojeekbot.json", {"prefixes": [{"ipv4Prefix": "5.102.173.64/28"}]})
        # Ahrefs' address list: 4 consecutive addresses become one /30.
        self.write("ahrefsbot.json", {"ips": [{"ip_address": "54.36.148.%d" % i}
                                              for i in range(4)] + [
                                                  {"ip_address": "202.8.40.1"}]})
        self.write("telegrambot.txt", "# Telegram\n91.108.4.0/22\n\n2001:67c:4e8::/48\n")
        self.write("marginalia.txt", "193.183.0.162\n193.183.0.163  # a comment\n")
        names = ["qwantbot", "mojeekbot", "ahrefsbot", "telegrambot", "marginalia"]
        r = self.run_script(*names)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.split("\n")[:len(names)]),
                         sorted("changed " + n for n in names), r.stdout)
        self.assertEqual(ranges(os.path.join(self.dir, "qwantbot.txt")),
                         ["194.187.171.0/24", "2a01:cb19:8000::/40"])
        self.assertEqual(ranges(os.path.join(self.dir, "ahrefsbot.txt")),
                         ["54.36.148.0/30", "202.8.40.1/32"])
        self.assertEqual(ranges(os.path.join(self.dir, "telegrambot.txt")),
                         ["91.108.4.0/22", "2001:67c:4e8::/48"])
        self.assertEqual(ranges(os.path.join(self.dir, "marginalia.txt")),
                         ["193.183.0.162/32", "193.183.0.163/32"])
        with open(os.path.join(self.dir, "qwantbot.txt"), encoding="utf-8") as f:
            head = f.read()
        self.assertIn("creationTime 2026-12-01T00:00:00", head)
        self.assertIn("reverse DNS (*.qwant.com)", head)

        # The same ranges again: nothing changed, nothing to reload.
        r = self.run_script(*names)
        self.assertEqual((r.returncode, r.stdout), (0, ""), r.stderr)

    def test_suspicious_lists_keep_the_old_file(self):
        old = os.path.join(self.dir, "mojeekbot.txt")
        with open(old, "w", encoding="utf-8") as f:
            f.write("# old\n5.102.173.64/28\n")
        for body in [
                {"prefixes": [{"ipv4Prefix": "10.0.0.0/8"}]},             # private
                {"prefixes": [{"ipv4Prefix": "5.0.0.0/7"}]},              # too wide
                {"prefixes": [{"ipv6Prefix": "2a00::/12"}]},              # too wide
                {"prefixes": [{"ipv4Prefix": "5.102.173.300/28"}]},       # not an address
                {"prefixes": []},                                          # empty
                {"ips": [{"ip_address": "5.102.173.64"}]},                # wrong layout
                "<html>moved</html>",                                      # not JSON
        ]:
            with self.subTest(body=body):
                self.write("mojeekbot.json", body)
                r = self.run_script("mojeekbot")
                self.assertEqual((r.returncode, r.stdout), (1, ""), r.stderr)
                self.assertIn("kept the old file", r.stderr)
                self.assertEqual(ranges(old), ["5.102.173.64/28"])
        # A text source with a line that is not an address.
        self.write("marginalia.txt", "193.183.0.162\nnot-an-address\n")
        r = self.run_script("marginalia")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "marginalia.txt")))

    def test_a_list_that_shrinks_by_half_needs_force(self):
        shipped = ranges(os.path.join(NETWORKS, "ahrefsbot.txt"))
        self.assertGreater(len(shipped), 20)
        with open(os.path.join(self.dir, "ahrefsbot.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(shipped) + "\n")
        self.write("ahrefsbot.json", {"prefixes": [{"ipv4Prefix": "54.36.148.0/23"}]})
        r = self.run_script("ahrefsbot")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("--force", r.stderr)
        self.assertEqual(ranges(os.path.join(self.dir, "ahrefsbot.txt")), shipped)
        r = self.run_script("ahrefsbot", force=True)
        self.assertEqual((r.returncode, r.stdout.split("\n")[0]), (0, "changed ahrefsbot"),
                         r.stderr)
        self.assertEqual(ranges(os.path.join(self.dir, "ahrefsbot.txt")), ["54.36.148.0/23"])


if __name__ == "__main__":
    unittest.main()
