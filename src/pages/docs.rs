//! `GET /docs`: the human-readable API reference. RapiDoc (vendored under
//! `web/vendor/rapidoc/`, served by stampd) draws it from `/api/v1/openapi.json`; the
//! page adds what a developer needs before the first call: how to authenticate, and how
//! versions work (the status's `versioning.policy_url` points at `#versioning`).

use maud::{html, Markup, DOCTYPE};

/// The page, for a server whose public links start with `base`.
pub fn page(base: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "stampd API reference" }
                link rel="stylesheet" href="/docs/docs.css";
                script type="module" src="/docs/rapidoc-min.js" {}
            }
            body {
                header.intro {
                    h1 { "stampd API v1" }
                    p {
                        "The loyalty API of this stampd, compatible with the Leal v1 REST API: "
                        "code written for Leal works with only the base URL changed to "
                        code { (base) "/api/v1" } "."
                    }
                    section #authentication {
                        h2 { "Authentication" }
                        p {
                            "Send " code { "Authorization: Bearer <token>" } " with every request "
                            "except " code { "GET /api/v1/status" } ". A token is created with "
                            code { "stampd token create --account <store id>" } " (the first start "
                            "prints one) and is shown only once."
                        }
                    }
                    section #versioning {
                        h2 { "Versioning" }
                        p {
                            "The version is part of the path: " code { "/api/v1" } " is the current "
                            "and only version. Within v1, fields and routes are only ever added, "
                            "never removed or changed in meaning; a breaking change would come as "
                            code { "/api/v2" } " beside v1, listed in the status's "
                            code { "versioning.supported" } ", with v1 listed as deprecated for at "
                            "least six months before it goes."
                        }
                    }
                    p {
                        a href="/api/v1/openapi.json" { "The OpenAPI document" }
                    }
                }
                rapi-doc spec-url="/api/v1/openapi.json" render-style="read" show-header="false"
                    allow-try="false" allow-authentication="false" allow-server-selection="false"
                    schema-style="table" theme="light" load-fonts="false"
                    regular-font="system-ui, -apple-system, Segoe UI, sans-serif"
                    mono-font="ui-monospace, Menlo, Consolas, monospace" {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_its_sections_and_escapes_the_base() {
        let html = page("https://shop.example.com/<x>").into_string();
        assert!(html.contains("id=\"authentication\""), "{html}");
        assert!(html.contains("id=\"versioning\""), "{html}");
        assert!(html.contains("spec-url=\"/api/v1/openapi.json\""), "{html}");
        assert!(
            html.contains("https://shop.example.com/&lt;x&gt;/api/v1"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "no inline script");
    }
}
