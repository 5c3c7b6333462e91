//! Staff members of a store (name, PIN hash, role, active flag), their sessions on
//! paired devices, and the counts of wrong PINs that lock a member or a device out.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{row, Columns};
use crate::api::roles::{Credential, SignedIn};
use crate::time_fmt;

/// What a staff member may do: `owner` manages the store, `staff` serves at the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Staff,
}

impl Role {
    pub const ALL: &'static [&'static str] = &["owner", "staff"];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "owner" => Some(Role::Owner),
            "staff" => Some(Role::Staff),
            _ => None,
        }
    }

    fn from_stored(s: &str) -> Role {
        Role::parse(s).unwrap_or(Role::Staff)
    }
}

/// A staff member as the API shows them (never the PIN or its hash).
#[derive(Debug, Clone, Serialize)]
pub struct Staff {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub role: Role,
    pub active: bool,
    /// Wrong PINs in a row since the last right one.
    pub failed_pins: i64,
    /// Set while the member is locked out by wrong PINs.
    pub locked_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, store_id, name, role, active, failed_pins, locked_until, created_at,
    updated_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Staff> {
    let mut c = Columns::of(r);
    let now = time_fmt::now();
    Ok(row!(c => Staff {
        id, account_id, name,
        role = Role::from_stored(&c.read::<String>()?),
        active, failed_pins,
        locked_until = c.read::<Option<String>>()?.filter(|t| *t > now),
        created_at, updated_at,
    }))
}

/// The fields an owner sets; `pin_hash` is the argon2 hash (PHC string) of the PIN.
pub struct StaffFields {
    pub name: String,
    pub pin_hash: String,
    pub role: Role,
    pub active: bool,
}

pub fn insert(conn: &Connection, store_id: i64, f: &StaffFields) -> rusqlite::Result<i64> {
    let now = time_fmt::now();
    conn.execute(
        "INSERT INTO staff (store_id, name, pin_hash, role, active, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![store_id, f.name, f.pin_hash, f.role.as_str(), f.active, now],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Changes what is given; a new PIN also clears the member's lock-out. A member made
/// inactive is signed out everywhere.
pub fn update(
    conn: &Connection,
    id: i64,
    name: Option<&str>,
    pin_hash: Option<&str>,
    role: Option<Role>,
    active: Option<bool>,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE staff SET name = coalesce(?2, name), pin_hash = coalesce(?3, pin_hash),
            role = coalesce(?4, role), active = coalesce(?5, active),
            failed_pins = CASE WHEN ?3 IS NULL THEN failed_pins ELSE 0 END,
            locked_until = CASE WHEN ?3 IS NULL THEN locked_until ELSE NULL END,
            updated_at = ?6
         WHERE id = ?1",
        params![
            id,
            name,
            pin_hash,
            role.map(Role::as_str),
            active,
            time_fmt::now()
        ],
    )?;
    if active == Some(false) {
        conn.execute("DELETE FROM staff_sessions WHERE staff_id = ?1", [id])?;
    }
    Ok(())
}

pub fn find(conn: &Connection, store_id: i64, id: i64) -> rusqlite::Result<Option<Staff>> {
    super::find_of_store(conn, "staff", COLUMNS, store_id, id, from_row)
}

pub fn list(conn: &Connection, store_id: i64) -> rusqlite::Result<Vec<Staff>> {
    let sql = format!("SELECT {COLUMNS} FROM staff WHERE store_id = ?1 ORDER BY name, id");
    super::all(conn, &sql, [store_id], from_row)
}

/// Clears a member's wrong PINs and lock-out.
pub fn unlock(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE staff SET failed_pins = 0, locked_until = NULL, updated_at = ?2 WHERE id = ?1",
        params![id, time_fmt::now()],
    )?;
    Ok(())
}

/// What a PIN is checked against: the member's hash and whether they may sign in now.
pub struct PinCheck {
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub pin_hash: String,
    /// The later of the member's and the device's lock-outs, while one holds.
    pub locked_until: Option<String>,
}

pub fn pin_check(
    conn: &Connection,
    store_id: i64,
    staff_id: i64,
    device_id: i64,
) -> rusqlite::Result<Option<PinCheck>> {
    let now = time_fmt::now();
    conn.prepare_cached(
        "SELECT s.name, s.role, s.active, s.pin_hash,
                (SELECT max(t) FROM (SELECT s.locked_until AS t UNION ALL
                    SELECT locked_until FROM devices WHERE id = ?3) WHERE t > ?4)
         FROM staff s WHERE s.id = ?1 AND s.store_id = ?2",
    )?
    .query_row(params![staff_id, store_id, device_id, now], |r| {
        let mut c = Columns::of(r);
        Ok(row!(c => PinCheck {
            name, role = Role::from_stored(&c.read::<String>()?), active, pin_hash, locked_until,
        }))
    })
    .optional()
}

/// Wrong PINs a member or a device may type in a row before a lock-out.
pub const FREE_TRIES_STAFF: i64 = 5;
pub const FREE_TRIES_DEVICE: i64 = 10;
/// The first lock-out; each further wrong PIN doubles it, up to `LONGEST_LOCK_SECS`.
pub const FIRST_LOCK_SECS: i64 = 30;
pub const LONGEST_LOCK_SECS: i64 = 3600;

/// How long the `failed`-th wrong PIN in a row locks out, when it does.
pub fn lock_secs(failed: i64, free: i64) -> Option<i64> {
    if failed < free {
        return None;
    }
    let doublings = u32::try_from(failed - free).unwrap_or(u32::MAX).min(20);
    Some((FIRST_LOCK_SECS << doublings).min(LONGEST_LOCK_SECS))
}

/// Counts a wrong PIN against the member and the device, locking either out when it
/// has had its free tries. The member's lock-out in seconds, when this locked them.
pub fn count_wrong_pin(
    conn: &Connection,
    staff_id: i64,
    device_id: i64,
) -> rusqlite::Result<(Option<i64>, Option<i64>)> {
    let bump = |table: &str, id: i64, free: i64| -> rusqlite::Result<Option<i64>> {
        let failed: i64 = conn.query_row(
            &format!(
                "UPDATE {table} SET failed_pins = failed_pins + 1 WHERE id = ?1 RETURNING failed_pins"
            ),
            [id],
            |r| r.get(0),
        )?;
        let lock = lock_secs(failed, free);
        if let Some(secs) = lock {
            conn.execute(
                &format!("UPDATE {table} SET locked_until = ?2 WHERE id = ?1"),
                params![id, time_fmt::in_seconds(secs)],
            )?;
        }
        Ok(lock)
    };
    Ok((
        bump("staff", staff_id, FREE_TRIES_STAFF)?,
        bump("devices", device_id, FREE_TRIES_DEVICE)?,
    ))
}

/// A right PIN: clears the member's and the device's counts and opens a session
/// lasting `hours`, whose token's hash is given.
pub fn sign_in(
    conn: &Connection,
    staff_id: i64,
    device_id: i64,
    token_hash: &[u8; 32],
    hours: i64,
) -> rusqlite::Result<String> {
    let now = time_fmt::now();
    conn.execute(
        "UPDATE staff SET failed_pins = 0, locked_until = NULL WHERE id = ?1",
        [staff_id],
    )?;
    conn.execute(
        "UPDATE devices SET failed_pins = 0, locked_until = NULL WHERE id = ?1",
        [device_id],
    )?;
    // Sessions that have ended go when a new one starts: the table stays small.
    conn.execute(
        "DELETE FROM staff_sessions WHERE device_id = ?1 AND expires_at <= ?2",
        params![device_id, now],
    )?;
    let expires_at = time_fmt::in_seconds(hours * 3600);
    conn.execute(
        "INSERT INTO staff_sessions (token_hash, device_id, staff_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![&token_hash[..], device_id, staff_id, now, expires_at],
    )?;
    Ok(expires_at)
}

/// Ends a session.
pub fn sign_out(conn: &Connection, token_hash: &[u8; 32]) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "DELETE FROM staff_sessions WHERE token_hash = ?1",
        [&token_hash[..]],
    )? > 0)
}

/// What an authenticated token is: a paired device (and the active member its live
/// session names), or an owner's API token.
pub fn credential(
    conn: &Connection,
    token_id: i64,
    session: Option<&[u8; 32]>,
) -> rusqlite::Result<Credential> {
    let device: Option<i64> = super::one(
        conn,
        "SELECT id FROM devices WHERE token_id = ?1 AND revoked_at IS NULL",
        [token_id],
        |r| r.get(0),
    )?;
    let Some(device_id) = device else {
        return Ok(Credential::Token);
    };
    let staff = match session {
        None => None,
        Some(hash) => super::one(
            conn,
            "SELECT s.id, s.name, s.role FROM staff_sessions ss JOIN staff s ON s.id = ss.staff_id
             WHERE ss.token_hash = ?1 AND ss.device_id = ?2 AND ss.expires_at > ?3
               AND s.active = 1",
            params![&hash[..], device_id, time_fmt::now()],
            |r| {
                Ok(SignedIn {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    role: Role::from_stored(&r.get::<_, String>(2)?),
                })
            },
        )?,
    };
    Ok(Credential::Device { device_id, staff })
}

/// The active members a device's picker shows.
pub fn picker(conn: &Connection, store_id: i64) -> rusqlite::Result<Vec<Staff>> {
    let sql =
        format!("SELECT {COLUMNS} FROM staff WHERE store_id = ?1 AND active = 1 ORDER BY name, id");
    super::all(conn, &sql, [store_id], from_row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_outs_start_after_the_free_tries_and_grow() {
        assert_eq!(lock_secs(4, 5), None);
        assert_eq!(lock_secs(5, 5), Some(30));
        assert_eq!(lock_secs(6, 5), Some(60));
        assert_eq!(lock_secs(7, 5), Some(120));
        assert_eq!(lock_secs(40, 5), Some(LONGEST_LOCK_SECS));
    }
}
