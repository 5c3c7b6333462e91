//! Who a request speaks for, and whether that may call the operation it asks for.
//!
//! An API token is an owner's credential. A paired device's token names the device; the
//! staff member signed in on it sends their session beside it (`X-Staff-Session`), and
//! the request then has that member's role; without one it may only list the staff and
//! sign in. What each operation needs is declared with the operation (`Doc::need`).

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::http::Method;
use actix_web::HttpRequest;

use super::endpoint::Need;
use crate::db::staff::Role;
use crate::error::ApiError;

/// The header that carries a staff member's session on a paired device.
pub const SESSION_HEADER: &str = "X-Staff-Session";

/// What the operation a request was routed to needs; owners only for anything not found
/// (the safe side).
pub fn need_of(req: &HttpRequest) -> Need {
    static NEEDS: OnceLock<HashMap<(String, Method), Need>> = OnceLock::new();
    let needs = NEEDS.get_or_init(|| {
        super::RESOURCES
            .iter()
            .flat_map(|r| r.endpoints.iter())
            .map(|e| {
                (
                    (format!("/api/v1{}", e.path), e.method.method()),
                    e.doc.need,
                )
            })
            .collect()
    });
    let Some(pattern) = req.match_pattern() else {
        return Need::Owner;
    };
    let method = if req.method() == Method::HEAD {
        Method::GET
    } else {
        req.method().clone()
    };
    needs
        .get(&(pattern, method))
        .copied()
        .unwrap_or(Need::Owner)
}

/// The hash of the request's staff session, when it sends one.
pub fn session_of(req: &HttpRequest) -> Option<[u8; 32]> {
    let value = req.headers().get(SESSION_HEADER)?.to_str().ok()?.trim();
    if value.is_empty() || value.len() > 256 {
        return None;
    }
    Some(crate::tokens::hash(value))
}

/// A staff member signed in on a device.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

/// What a request's credential carries.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A plain API token: an owner.
    Token,
    /// A paired device, and the staff member signed in on it, if any.
    Device {
        device_id: i64,
        staff: Option<SignedIn>,
    },
}

impl Credential {
    /// The role the request has; `None` for a device nobody is signed in on.
    pub fn role(&self) -> Option<Role> {
        match self {
            Credential::Token => Some(Role::Owner),
            Credential::Device { staff, .. } => staff.as_ref().map(|s| s.role),
        }
    }

    /// 403 unless the credential's role meets `need`.
    pub fn permit(&self, need: Need) -> Result<(), ApiError> {
        match (need, self.role()) {
            (Need::Device, _) => Ok(()),
            (_, None) => Err(ApiError::Forbidden(SIGN_IN.into())),
            (Need::Staff, Some(_)) | (Need::Owner, Some(Role::Owner)) => Ok(()),
            (Need::Owner, Some(Role::Staff)) => Err(ApiError::Forbidden(OWNERS_ONLY.into())),
        }
    }

    /// Whether the request is an owner's.
    pub fn is_owner(&self) -> bool {
        self.role() == Some(Role::Owner)
    }

    pub fn device_id(&self) -> Option<i64> {
        match self {
            Credential::Token => None,
            Credential::Device { device_id, .. } => Some(*device_id),
        }
    }

    pub fn staff(&self) -> Option<&SignedIn> {
        match self {
            Credential::Token => None,
            Credential::Device { staff, .. } => staff.as_ref(),
        }
    }
}

/// API.md's answer to a staff member on an owner-only route.
pub const OWNERS_ONLY: &str = "Forbidden – owners only";
/// The answer to a device on which nobody (or nobody still) is signed in.
pub const SIGN_IN: &str = "Forbidden – sign in with a staff PIN first";
