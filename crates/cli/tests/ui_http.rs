//! `fastrpc ui` as a process, spoken to over plain HTTP (no browser needed): a `static://`
//! registry is listed with health and shown read-only, writes from another site are refused,
//! and the call form calls a real server.

mod support;

use support::ui::start_ui;
use support::{dead_addr, server};

const FORM: &str = "Content-Type: application/x-www-form-urlencoded";

#[test]
fn static_registry_is_listed_read_only_and_called_from_the_form() {
    let a = server();
    let dead = dead_addr();
    let ui = start_ui(&format!("static://{},{dead}?weight=7&group=g1", a.addr));

    let (status, body) = ui.request("GET", "/api/services", &[], "");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["writable"], false);
    let servers = v["services"][0]["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2, "{v}");
    let live = servers
        .iter()
        .find(|s| s["server"] == a.addr.as_str())
        .unwrap();
    assert_eq!(live["weight"], 7);
    assert_eq!(live["group"][0], "g1");
    assert_eq!(live["state"], "active");
    assert_eq!(live["alive"], true, "{live}");
    assert!(live["heartbeat_ms"].is_number(), "{live}");
    let down = servers
        .iter()
        .find(|s| s["server"] == dead.as_str())
        .unwrap();
    assert_eq!(down["alive"], false, "{down}");
    assert!(down["error"].is_string(), "{down}");

    let (status, page) = ui.request("GET", "/", &[], "");
    assert_eq!(status, 200);
    assert!(
        page.contains("(read-only)") && page.contains(&a.addr),
        "{page}"
    );
    assert!(
        !page.contains("Mark inactive"),
        "read-only pages have no state buttons"
    );

    // A write to a static list says why it cannot be done.
    let form = format!(
        "service=Arith&server={}&state=inactive",
        a.addr.replace('@', "%40")
    );
    let (status, head, _) = ui.exchange("POST", "/state", &[FORM], &form);
    assert_eq!(status, 303);
    let location = head
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or_else(|| panic!("no location in {head}"));
    assert!(location.starts_with("/?err="), "{location}");
    let (_, page) = ui.request("GET", location, &[], "");
    assert!(page.contains("is read-only"), "{page}");

    // A write that another site makes the browser send is refused.
    let (status, body) = ui.request(
        "POST",
        "/state",
        &[FORM, "Origin: http://evil.example"],
        &form,
    );
    assert_eq!((status, body.as_str()), (403, "cross-site request refused"));

    // The call form, to one server and through the registry.
    for server in [a.addr.replace('@', "%40"), String::new()] {
        let form = format!("method=Arith.Mul&server={server}&args=%7B%22A%22%3A6%2C%22B%22%3A7%7D");
        let (status, page) = ui.request("POST", "/call", &[FORM], &form);
        assert_eq!(status, 200);
        assert!(
            page.contains(r#"class="outcome ok""#) && page.contains("&quot;C&quot;: 42"),
            "{page}"
        );
    }
    // An error reply and bad JSON are shown as errors.
    let (_, page) = ui.request(
        "POST",
        "/call",
        &[FORM],
        "method=Arith.Fail&server=&args=%7B%22A%22%3A1%2C%22B%22%3A2%7D",
    );
    assert!(
        page.contains(r#"class="outcome err""#) && page.contains("divide by zero, on purpose"),
        "{page}"
    );
    let (_, page) = ui.request(
        "POST",
        "/call",
        &[FORM],
        "method=Arith.Mul&server=&args=%7B",
    );
    assert!(page.contains("not valid JSON"), "{page}");
}
