use serde_json::json;

use crate::helpers::*;

#[test]
fn status_needs_no_token() {
    let app = spawn_app();
    let r = app.request("GET", "/api/v1/status", None, None, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(r.body["api_version"], "v1");
}

#[test]
fn store_show_and_update() {
    let app = spawn_app();
    let r = app.get(&app.store_path(""));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "Test Store");
    assert_eq!(r.body["display_store_name"], "Test Store");
    assert_eq!(r.body["personal"], false);

    let r = app.patch(
        &app.store_path(""),
        &json!({"account": {"store_name": "Ann's Coffee"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["store_name"], "Ann's Coffee");
    assert_eq!(r.body["display_store_name"], "Ann's Coffee");
    assert_eq!(r.body["name"], "Test Store");

    let r = app.patch(&app.store_path(""), &json!({"account": {"name": ""}}));
    assert_eq!(r.status, 422);
    assert_eq!(r.body["errors"]["name"][0], "can't be blank");
}
