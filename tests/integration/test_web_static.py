"""The static pages (web_root): served from memory with their types, ETags,
304s, caching and the CSP; reloaded on SIGHUP; bounded by web_max_*."""
import http.client
import os
import signal

from conftest import ROOT, http_get, wait_for

CSP = ("default-src 'none'; img-src 'self' data: ; script-src 'self'; font-src 'self'; "
       "style-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'")


def make_root(tmp_path):
    root = tmp_path / "web"
    (root / "desk").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>home</title>")
    (root / "desk" / "index.html").write_text("<!doctype html><title>desk</title>")
    (root / "desk" / "desk.js").write_text("export const desk = 1;\n")
    (root / "style.css").write_text("body{color:#333}\n")
    (root / ".secret.html").write_text("hidden")
    (root / "notes.md").write_text("unknown type")
    return root


def get(port, path, headers=None):
    """(status, headers as a lower-cased dict, body) over one connection."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    out = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    c.close()
    return out


def test_pages_have_their_type_etag_caching_and_the_csp(redis, gateway, tmp_path):
    root = make_root(tmp_path)
    gw = gateway(redis.url, web_root=str(root))
    for path, ctype, body in [
            ("/", "text/html; charset=utf-8", b"<!doctype html><title>home</title>"),
            ("/desk/", "text/html; charset=utf-8", b"<!doctype html><title>desk</title>"),
            ("/desk/desk.js", "text/javascript; charset=utf-8", b"export const desk = 1;\n"),
            ("/style.css", "text/css; charset=utf-8", b"body{color:#333}\n")]:
        status, h, got = get(gw.port, path)
        assert (status, h["content-type"], got) == (200, ctype, body), path
        assert h["content-security-policy"].startswith(CSP)
        assert h["x-content-type-options"] == "nosniff"
        assert h["cache-control"] == "no-cache"
        assert h["etag"].startswith('"') and len(h["etag"]) == 18
        assert h["access-control-allow-origin"] == "*"
    # hidden files and unknown types are not served; a directory redirects
    assert get(gw.port, "/.secret.html")[0] == 404
    assert get(gw.port, "/notes.md")[0] == 404
    assert get(gw.port, "/desk/nope.js")[0] == 404
    status, h, _ = get(gw.port, "/desk")
    assert (status, h["location"]) == (301, "/desk/")
    # a query string does not change the file
    assert get(gw.port, "/desk/?x=<b>")[2] == b"<!doctype html><title>desk</title>"


def test_if_none_match_gets_304_and_the_connection_goes_on(redis, gateway, tmp_path):
    gw = gateway(redis.url, web_root=str(make_root(tmp_path)))
    c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
    c.request("GET", "/desk/desk.js")
    r = c.getresponse()
    etag = r.getheader("etag")
    r.read()
    for inm, want in [(etag, 304), (f'W/"zz", {etag}', 304), ("*", 304), ('"0000"', 200)]:
        c.request("GET", "/desk/desk.js", headers={"If-None-Match": inm})
        r = c.getresponse()
        body = r.read()
        assert r.status == want, inm
        assert r.getheader("etag") == etag
        assert body == (b"" if want == 304 else b"export const desk = 1;\n")
        if want == 304:
            assert r.getheader("content-security-policy").startswith(CSP)
            assert r.getheader("cache-control") == "no-cache"
    c.close()


def test_sighup_reloads_the_pages_and_keeps_them_when_the_new_ones_are_too_big(
        redis, gateway, tmp_path):
    root = make_root(tmp_path)
    gw = gateway(redis.url, web_root=str(root), web_max_bytes="1k")
    _, h1, _ = get(gw.port, "/desk/desk.js")
    (root / "desk" / "desk.js").write_text("export const desk = 2;\n")
    gw.signal(signal.SIGHUP)
    wait_for(lambda: get(gw.port, "/desk/desk.js")[2] == b"export const desk = 2;\n", 5,
             what="the new desk.js")
    _, h2, _ = get(gw.port, "/desk/desk.js")
    assert h2["etag"] != h1["etag"]
    # over web_max_bytes: logged, and the pages served stay as they were
    (root / "big.js").write_text("x" * 2000)
    gw.signal(signal.SIGHUP)
    wait_for(lambda: "event=web_load_failed" in gw.logtext(), 5, what="web_load_failed")
    assert "web_max_bytes" in gw.logtext()
    assert get(gw.port, "/desk/desk.js")[2] == b"export const desk = 2;\n"
    assert get(gw.port, "/big.js")[0] == 404
    # too many files: the same
    (root / "big.js").unlink()
    gw.options["web_max_files"] = 3
    gw.write_config()
    gw.signal(signal.SIGHUP)
    wait_for(lambda: gw.logtext().count("event=web_load_failed") == 2, 5, what="second failure")
    assert "web_max_files" in gw.logtext()
    assert get(gw.port, "/style.css")[0] == 200


def test_web_root_off_serves_nothing_and_a_missing_one_is_a_config_error(
        redis, gateway, tmp_path):
    gw = gateway(redis.url, web_root="off")
    assert http_get(gw.port, "/widget.js")[0] == 404
    assert "pages=off" in gw.logtext()
    bad = gateway(redis.url, start=False, web_root=str(tmp_path / "nowhere"))
    bad.start(wait_ready=False)
    assert bad.proc.wait(5) != 0
    assert "web_root" in bad.logtext()


def test_pages_are_not_served_on_the_metrics_address(redis, gateway, tmp_path):
    from conftest import free_port
    mport = free_port()
    gw = gateway(redis.url, web_root=str(make_root(tmp_path)), metrics_listen=f"127.0.0.1:{mport}")
    assert get(gw.port, "/style.css")[0] == 200
    assert get(mport, "/style.css")[0] == 404
def test_the_default_serves_the_repository_pages(redis, gateway):
    gw = gateway(redis.url)
    status, h, body = get(gw.port, "/widget.js")
    assert status == 200 and h["content-type"].startswith("text/javascript")
    assert body == open(os.path.join(ROOT, "web", "widget.js"), "rb").read()
    assert get(gw.port, "/demo/")[0] == 200
    assert get(gw.port, "/desk/")[0] == 200


