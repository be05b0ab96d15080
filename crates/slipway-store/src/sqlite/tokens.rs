//! [`TokenStore`] over SQLite: the `tokens` table.

use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Row, named_params};

use super::SqliteStore;
use super::builds::{fit, timestamp, unreadable};
use super::projects::already_exists;
use crate::{NewToken, Role, StoreError, Token, TokenId, TokenStore};

impl TokenStore for SqliteStore {
    fn add_token(&self, token: &NewToken) -> Result<TokenId, StoreError> {
        let created_at_ns = fit("created_at", token.created_at.as_nanosecond())?;
        self.write(|transaction| {
            transaction
                .prepare_cached(
                    "INSERT INTO tokens (name, role, hash, created_at_ns) \
                     VALUES (:name, :role, :hash, :created_at_ns)",
                )?
                .execute(named_params! {
                    ":name": token.name,
                    ":role": token.role.as_str(),
                    ":hash": token.hash.as_slice(),
                    ":created_at_ns": created_at_ns,
                })?;
            Ok(TokenId::new(transaction.last_insert_rowid()))
        })
        .map_err(|error| already_exists(error, "token", &token.name))
    }

    fn use_token(&self, hash: &[u8; 32], at: jiff::Timestamp) -> Result<Option<Token>, StoreError> {
        let at_ns = fit("at", at.as_nanosecond())?;
        self.write(|transaction| {
            transaction
                .prepare_cached(&format!(
                    "UPDATE tokens SET last_used_at_ns = ?2 \
                     WHERE hash = ?1 AND revoked_at_ns IS NULL RETURNING {COLUMNS}"
                ))?
                .query_row((hash.as_slice(), at_ns), decode)
                .optional()
        })
    }

    fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        self.read(|transaction| {
            transaction
                .prepare_cached(&format!("SELECT {COLUMNS} FROM tokens ORDER BY name"))?
                .query_map([], decode)?
                .collect()
        })
    }

    fn revoke_token(&self, name: &str, at: jiff::Timestamp) -> Result<bool, StoreError> {
        let at_ns = fit("at", at.as_nanosecond())?;
        self.write(|transaction| {
            let revoked = transaction
                .prepare_cached(
                    "UPDATE tokens SET revoked_at_ns = ?2 \
                     WHERE name = ?1 AND revoked_at_ns IS NULL",
                )?
                .execute((name, at_ns))?;
            Ok(revoked > 0)
        })
    }
}

const COLUMNS: &str = "id, name, role, created_at_ns, revoked_at_ns, last_used_at_ns";

fn decode(row: &Row<'_>) -> rusqlite::Result<Token> {
    let role: String = row.get("role")?;
    let role: Role = role
        .parse()
        .map_err(|_| unreadable(row, "role", Type::Text, &role))?;
    Ok(Token {
        id: TokenId::new(row.get("id")?),
        name: row.get("name")?,
        role,
        created_at: timestamp(row, "created_at_ns")?,
        revoked_at: optional_timestamp(row, "revoked_at_ns")?,
        last_used_at: optional_timestamp(row, "last_used_at_ns")?,
    })
}

/// The time in `column` when it holds one.
pub(super) fn optional_timestamp(
    row: &Row<'_>,
    column: &str,
) -> rusqlite::Result<Option<jiff::Timestamp>> {
    match row.get::<_, Option<i64>>(column)? {
        None => Ok(None),
        Some(_) => timestamp(row, column).map(Some),
    }
}
