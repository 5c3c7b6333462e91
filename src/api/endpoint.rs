//! One declaration per JSON API route: method, path, handler and its OpenAPI operation,
//! side by side in the resource's module (`ENDPOINTS` of `api/<resource>.rs`, written
//! with `endpoints!` and the `Doc` builders).
//!
//! Both the actix-web scope (`api::api_scope`) and the OpenAPI document
//! (`api::openapi::document`) are built from these declarations, so a route cannot
//! exist without its documentation: `doc` is not optional.

use actix_web::http::Method;
use serde_json::{Map, Value};

/// The HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Get,
    Post,
    Patch,
    Put,
    Delete,
}

impl Verb {
    pub fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Patch => Method::PATCH,
            Verb::Put => Method::PUT,
            Verb::Delete => Method::DELETE,
        }
    }

    /// The lower-case name OpenAPI keys operations by.
    pub fn openapi(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
            Verb::Patch => "patch",
            Verb::Put => "put",
            Verb::Delete => "delete",
        }
    }

    /// Methods that read a body (and may carry an `Idempotency-Key`).
    pub fn writes(self) -> bool {
        self != Verb::Get
    }
}

/// One route of the JSON API.
pub struct Endpoint {
    pub method: Verb,
    /// Path below `/api/v1`, with `{name}` segments as actix-web and OpenAPI write them.
    pub path: &'static str,
    /// The handler, as an actix-web route without its method guard (added from `method`).
    pub handler: fn() -> actix_web::Route,
    pub doc: Doc,
}

/// The OpenAPI operation of an endpoint. Path parameters come from the path; the error
/// responses follow from what the operation is (see `openapi::operation`).
pub struct Doc {
    pub id: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
    /// Names of query parameters (`components.parameters`).
    pub query: &'static [&'static str],
    pub body: In,
    /// Success status, its description, and the schema of its body (`None`: no body).
    pub ok: (u16, &'static str, Option<&'static str>),
    /// Who may call it (owners only unless the declaration says otherwise).
    pub need: Need,
}

/// What a request's credential must carry for an operation. An API token is an owner's;
/// a paired device carries the role of the staff member signed in on it, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Need {
    /// Any credential of the store, a device nobody has signed in on too (the staff
    /// picker, signing in).
    Device,
    /// A staff member or an owner (finding, enrolling, stamping, redeeming).
    Staff,
    /// An owner: an API token, or a staff member whose role is `owner`.
    Owner,
}

impl Need {
    /// How the OpenAPI document says who may call an operation.
    pub fn describe(self) -> &'static str {
        match self {
            Need::Device => {
                "Any credential of the store, also a paired device with nobody signed in."
            }
            Need::Staff => "Staff and owners (a paired device needs a staff member signed in).",
            Need::Owner => {
                "Owners only: an API token, or a staff member with the role `owner`; staff get 403."
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Need::Device => "device",
            Need::Staff => "staff",
            Need::Owner => "owner",
        }
    }
}

impl Doc {
    /// What most operations leave out: no description, no query parameters, no body.
    /// A struct literal names what it has and ends with `..Doc::PLAIN`; the builders
    /// below start from it.
    pub const PLAIN: Doc = Doc {
        id: "",
        summary: "",
        description: "",
        query: &[],
        body: In::Nothing,
        ok: (200, "", None),
        need: Need::Owner,
    };

    /// An operation with its id and summary; the builders below add what it has.
    pub const fn new(id: &'static str, summary: &'static str) -> Doc {
        Doc {
            id,
            summary,
            ..Doc::PLAIN
        }
    }

    pub const fn describe(mut self, description: &'static str) -> Doc {
        self.description = description;
        self
    }

    pub const fn query(mut self, names: &'static [&'static str]) -> Doc {
        self.query = names;
        self
    }

    pub const fn body(mut self, name: &'static str) -> Doc {
        self.body = In::Body(name);
        self
    }

    /// The success answer and the schema of its body.
    pub const fn ok(mut self, status: u16, description: &'static str, schema: &'static str) -> Doc {
        self.ok = (status, description, Some(schema));
        self
    }

    /// The success answer, without a body.
    pub const fn empty(mut self, status: u16, description: &'static str) -> Doc {
        self.ok = (status, description, None);
        self
    }

    /// Staff may call it too.
    pub const fn staff(mut self) -> Doc {
        self.need = Need::Staff;
        self
    }

    /// A paired device may call it before anyone signs in on it.
    pub const fn device(mut self) -> Doc {
        self.need = Need::Device;
        self
    }

    /// The `PUT` twin of a `PATCH`: the same body and answer under its own id.
    pub const fn same_as_patch(mut self, id: &'static str, summary: &'static str) -> Doc {
        self.id = id;
        self.summary = summary;
        self.description = "Partial, exactly like PATCH.";
        self
    }
}

/// A resource's table of endpoints: its base path (below `/api/v1`), then one line a
/// route, `Verb "path below the base" => handler, doc;` where `doc` is a `Doc` (a route
/// without one does not compile). A `PATCH` also served as `PUT` ends with
/// `, Put "putOperationId" "summary"` and declares both.
macro_rules! endpoints {
    (@table $base:literal [$($done:expr,)*]) => {
        &[$($done,)*]
    };
    (@table $base:literal [$($done:expr,)*]
        Patch $path:literal => $handler:path, $doc:expr, Put $put_id:literal $put_summary:literal;
        $($rest:tt)*
    ) => {
        $crate::api::endpoint::endpoints!(@table $base [$($done,)*
            $crate::api::endpoint::endpoints!(@one Patch concat!($base, $path), $handler, $doc),
            $crate::api::endpoint::endpoints!(@one Put concat!($base, $path), $handler,
                $doc.same_as_patch($put_id, $put_summary)),
        ] $($rest)*)
    };
    (@table $base:literal [$($done:expr,)*]
        $verb:ident $path:literal => $handler:path, $doc:expr;
        $($rest:tt)*
    ) => {
        $crate::api::endpoint::endpoints!(@table $base [$($done,)*
            $crate::api::endpoint::endpoints!(@one $verb concat!($base, $path), $handler, $doc),
        ] $($rest)*)
    };
    (@one $verb:ident $path:expr, $handler:path, $doc:expr) => {
        $crate::api::endpoint::Endpoint {
            method: $crate::api::endpoint::Verb::$verb,
            path: $path,
            handler: || actix_web::web::route().to($handler),
            doc: $doc,
        }
    };
    ($base:literal; $($routes:tt)*) => {
        $crate::api::endpoint::endpoints!(@table $base [] $($routes)*)
    };
}
pub(crate) use endpoints;

/// What an operation takes as a body.
#[derive(Clone, Copy)]
pub enum In {
    /// No body (a write method's body errors still apply).
    Nothing,
    /// A body described by `components.requestBodies.<name>`.
    Body(&'static str),
}

/// One resource of the API: its tag in the document, its routes, and the schemas,
/// request bodies and query parameters its routes refer to.
pub struct Resource {
    pub tag: &'static str,
    pub endpoints: &'static [Endpoint],
    pub components: fn(&mut Components),
}

impl Resource {
    pub const fn new(
        tag: &'static str,
        endpoints: &'static [Endpoint],
        components: fn(&mut Components),
    ) -> Resource {
        Resource {
            tag,
            endpoints,
            components,
        }
    }
}

/// What resources add to `components` of the OpenAPI document.
#[derive(Default)]
pub struct Components {
    pub schemas: Map<String, Value>,
    pub request_bodies: Map<String, Value>,
    pub parameters: Map<String, Value>,
}

impl Components {
    pub fn schema(&mut self, name: &str, schema: Value) {
        let clash = self.schemas.insert(name.to_string(), schema);
        assert!(clash.is_none(), "schema {name} is declared twice");
    }

    /// A request body taken as JSON or as the equivalent Rails-style form.
    pub fn request_body(&mut self, name: &str, required: bool, schema: Value) {
        let form = super::openapi::form_schema(&schema);
        let body = serde_json::json!({
            "required": required,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": form},
            },
        });
        let clash = self.request_bodies.insert(name.to_string(), body);
        assert!(clash.is_none(), "request body {name} is declared twice");
    }

    /// The request bodies `<name>Create`, required, with the attributes a new record
    /// needs under `root` and the action parameters `top` beside them, and
    /// `<name>Update`, whose attributes may each be left out.
    pub fn create_and_update(
        &mut self,
        name: &str,
        root: &str,
        attributes: fn(bool) -> Value,
        top: Map<String, Value>,
    ) {
        use super::openapi::schema::wrapped;
        let create = wrapped(root, attributes(true), top);
        self.request_body(&format!("{name}Create"), true, create);
        let update = wrapped(root, attributes(false), Map::new());
        self.request_body(&format!("{name}Update"), false, update);
    }

    /// An optional query parameter.
    pub fn query(&mut self, name: &str, description: &str, schema: Value) {
        let param = serde_json::json!({
            "name": name,
            "in": "query",
            "required": false,
            "description": description,
            "schema": schema,
        });
        // Resources may share a parameter (`card_id`, `active`) if they describe it alike.
        if let Some(earlier) = self.parameters.insert(name.to_string(), param.clone()) {
            assert_eq!(
                earlier, param,
                "query parameter {name} is declared twice, differently"
            );
        }
    }
}

/// No components of its own.
pub fn no_components(_: &mut Components) {}
