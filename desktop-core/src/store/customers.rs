//! Customers: the list with search and filters, a customer's page, and the
//! add / edit / archive actions.

use std::collections::BTreeMap;

use crm_domain::entities::{Customer, CustomerInteraction, Ticket};
use crm_domain::protocol::{MutationOp, SyncTable};
use crm_domain::validation::{ValidationErrors, blank_to_none, validate_sync_field};
use crm_domain::{AcquisitionStage, CustomerStatus, drafts::NewCustomer};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::access::{require_admin, require_manages_customer};
use super::outbox::changes_against;
use super::rows::{self, row_to_json};
use super::{Store, search};
use crate::error::{CoreError, CoreResult};

/// What the customer list shows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CustomerFilter {
    /// Words to find in name, email or phone (prefixes match).
    #[serde(default)]
    pub search: Option<String>,
    #[serde(default)]
    pub stage: Option<AcquisitionStage>,
    #[serde(default)]
    pub status: Option<CustomerStatus>,
    #[serde(default)]
    pub include_archived: bool,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub offset: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CustomerListItem {
    #[serde(flatten)]
    pub customer: Customer,
    pub owner_name: Option<String>,
}

/// A customer's page: the customer, their interactions (newest first) and
/// tickets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CustomerPage {
    pub customer: Customer,
    pub owner_name: Option<String>,
    pub can_edit: bool,
    pub interactions: Vec<CustomerInteraction>,
    pub tickets: Vec<Ticket>,
}

/// The edit form: every editable field, as the user left it. Only the
/// fields that differ from the replica are sent, so a colleague's edit of
/// another field survives.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CustomerEdit {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub product_id: Option<Uuid>,
    pub status: CustomerStatus,
    pub acquisition_stage: AcquisitionStage,
    pub owner: Option<Uuid>,
    pub is_archived: bool,
}

const DEFAULT_LIMIT: u32 = 100;

impl Store {
    pub fn list_customers(&self, filter: &CustomerFilter) -> CoreResult<Vec<CustomerListItem>> {
        let def = rows::table("customers").ok_or(CoreError::NotFound { what: "table" })?;
        let stage = filter.stage.map(|s| s.as_str());
        let status = filter.status.map(|s| s.as_str());
        let limit = i64::from(filter.limit.unwrap_or(DEFAULT_LIMIT).min(1000));
        let offset = i64::from(filter.offset.unwrap_or(0));
        let query = filter.search.as_deref().and_then(search::match_expression);
        let conn = self.conn();
        // Ranked when the words narrow it down; newest first while they are
        // too broad to rank at typing speed (see search.rs).
        let order = match &query {
            Some(q) if search::is_broad(conn, "customers_fts", q)? => "f.rowid DESC",
            Some(_) => "f.rank",
            None => "c.name COLLATE NOCASE, c.id",
        };
        let from = if query.is_some() {
            "customers_fts f JOIN customers c ON c.rowid = f.rowid"
        } else {
            "customers c"
        };
        let matching = if query.is_some() {
            "customers_fts MATCH ?6 AND"
        } else {
            ""
        };
        // Fixed fragments only; the user's words are bound parameters.
        let sql = format!(
            "SELECT c.id, c.name, c.email, c.phone, c.product_id, c.status, c.acquisition_stage,
                    c.owner, c.is_archived, c.created_at, c.updated_at,
                    coalesce(co.full_name, p.full_name)
             FROM {from}
             LEFT JOIN colleagues co ON co.id = c.owner
             LEFT JOIN profiles p ON p.id = c.owner
             WHERE {matching} (?1 IS NULL OR c.acquisition_stage = ?1)
               AND (?2 IS NULL OR c.status = ?2)
               AND (?5 OR NOT c.is_archived)
             ORDER BY {order}
             LIMIT ?3 OFFSET ?4"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let map_row =
            |r: &rusqlite::Row<'_>| Ok((row_to_json(def, r)?, r.get::<_, Option<String>>(11)?));
        let archived = filter.include_archived;
        let rows: Vec<_> = match &query {
            Some(q) => stmt
                .query_map(params![stage, status, limit, offset, archived, q], map_row)?
                .collect(),
            None => stmt
                .query_map(params![stage, status, limit, offset, archived], map_row)?
                .collect(),
        };
        let mut out = Vec::new();
        for row in rows {
            let (map, owner_name) = row?;
            out.push(CustomerListItem {
                customer: serde_json::from_value(Value::Object(map))?,
                owner_name,
            });
        }
        Ok(out)
    }

    pub fn customer(&self, id: Uuid) -> CoreResult<Customer> {
        let def = rows::table("customers").ok_or(CoreError::NotFound { what: "table" })?;
        let row =
            rows::read(self.conn(), def, id)?.ok_or(CoreError::NotFound { what: "customer" })?;
        Ok(serde_json::from_value(Value::Object(row))?)
    }

    pub fn customer_page(&self, id: Uuid) -> CoreResult<CustomerPage> {
        let me = self.me()?;
        let customer = self.customer(id)?;
        let conn = self.conn();
        let interactions = rows::read_where(
            conn,
            rows::table("customer_interactions").ok_or(CoreError::NotFound { what: "table" })?,
            "WHERE customer_id = ?1 ORDER BY created_at DESC, id DESC",
            params![id.to_string()],
        )?;
        let tickets = rows::read_where(
            conn,
            rows::table("tickets").ok_or(CoreError::NotFound { what: "table" })?,
            "WHERE customer_id = ?1 ORDER BY created_at DESC, id DESC",
            params![id.to_string()],
        )?;
        Ok(CustomerPage {
            owner_name: self.person_name(customer.owner)?,
            can_edit: me.is_admin() || customer.owner == Some(me.user_id),
            customer,
            interactions,
            tickets,
        })
    }

    /// Adds a customer, owned by the user unless an admin names another
    /// owner.
    pub fn create_customer(&mut self, draft: NewCustomer) -> CoreResult<Customer> {
        let me = self.me()?;
        let draft = NewCustomer {
            email: blank_to_none(draft.email),
            phone: blank_to_none(draft.phone),
            ..draft
        };
        draft.validate()?;
        let owner = draft.owner.unwrap_or(me.user_id);
        if owner != me.user_id && !me.is_admin() {
            return Err(CoreError::forbidden(
                "only an admin can add a customer for someone else",
            ));
        }
        self.check_product(draft.product_id)?;
        let id = Uuid::now_v7();
        let mut values = BTreeMap::new();
        values.insert("name".to_string(), Value::from(draft.name.trim()));
        values.insert("email".to_string(), opt_text(draft.email));
        values.insert("phone".to_string(), opt_text(draft.phone));
        values.insert("product_id".to_string(), opt_uuid(draft.product_id));
        values.insert("status".to_string(), Value::from(draft.status.as_str()));
        values.insert(
            "acquisition_stage".to_string(),
            Value::from(draft.acquisition_stage.as_str()),
        );
        values.insert("owner".to_string(), Value::from(owner.to_string()));
        self.record(&me, SyncTable::Customers, id, MutationOp::Insert { values })?;
        self.customer(id)
    }

    /// Saves the edit form. Agents edit their own customers and cannot hand
    /// them to someone else; admins edit all and may reassign.
    pub fn update_customer(&mut self, id: Uuid, edit: CustomerEdit) -> CoreResult<Customer> {
        let me = self.me()?;
        require_manages_customer(self.conn(), &me, id)?;
        let current = self.customer(id)?;
        if edit.owner != current.owner && !me.is_admin() {
            return Err(CoreError::forbidden(
                "only an admin can change a customer's owner",
            ));
        }
        self.check_product(edit.product_id)?;
        let mut new = BTreeMap::new();
        new.insert("name".to_string(), Value::from(edit.name.trim()));
        new.insert("email".to_string(), opt_text(blank_to_none(edit.email)));
        new.insert("phone".to_string(), opt_text(blank_to_none(edit.phone)));
        new.insert("product_id".to_string(), opt_uuid(edit.product_id));
        new.insert("status".to_string(), Value::from(edit.status.as_str()));
        new.insert(
            "acquisition_stage".to_string(),
            Value::from(edit.acquisition_stage.as_str()),
        );
        new.insert("owner".to_string(), opt_uuid(edit.owner));
        new.insert("is_archived".to_string(), Value::Bool(edit.is_archived));
        validate_fields(SyncTable::Customers, &new)?;
        let def = rows::table("customers").ok_or(CoreError::NotFound { what: "table" })?;
        let row =
            rows::read(self.conn(), def, id)?.ok_or(CoreError::NotFound { what: "customer" })?;
        if let Some(op) = changes_against(&row, new) {
            self.record(&me, SyncTable::Customers, id, op)?;
        }
        self.customer(id)
    }

    /// Customers with history are archived, not deleted; deleting is for
    /// admins.
    pub fn delete_customer(&mut self, id: Uuid) -> CoreResult<()> {
        let me = self.me()?;
        require_admin(&me, "delete a customer (agents archive them)")?;
        self.customer(id)?;
        let has_tickets: bool = self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM tickets WHERE customer_id = ?1)",
            params![id.to_string()],
            |r| r.get(0),
        )?;
        if has_tickets {
            return Err(CoreError::forbidden(
                "a customer with tickets cannot be deleted; archive them instead",
            ));
        }
        self.record(&me, SyncTable::Customers, id, MutationOp::Delete)?;
        Ok(())
    }

    fn check_product(&self, product_id: Option<Uuid>) -> CoreResult<()> {
        if let Some(product) = product_id {
            let def = rows::table("products").ok_or(CoreError::NotFound { what: "table" })?;
            if !rows::exists(self.conn(), def, product)? {
                return Err(CoreError::invalid("product_id", "is not a known product"));
            }
        }
        Ok(())
    }

    /// A person's display name: a colleague's, or the user's own.
    pub(crate) fn person_name(&self, id: Option<Uuid>) -> CoreResult<Option<String>> {
        let Some(id) = id else { return Ok(None) };
        Ok(self
            .conn()
            .query_row(
                "SELECT coalesce((SELECT full_name FROM colleagues WHERE id = ?1),
                                 (SELECT full_name FROM profiles WHERE id = ?1))",
                params![id.to_string()],
                |r| r.get(0),
            )
            .unwrap_or(None))
    }
}

/// Checks every field with the server's rules, reporting all at once.
pub(crate) fn validate_fields(
    table: SyncTable,
    fields: &BTreeMap<String, Value>,
) -> Result<(), ValidationErrors> {
    ValidationErrors::collect(table.updatable_columns().iter().filter_map(|column| {
        fields
            .get(*column)
            .map(|value| validate_sync_field(table, column, value))
    }))
}

pub(crate) fn opt_text(value: Option<String>) -> Value {
    value.map_or(Value::Null, |s| Value::String(s.trim().to_string()))
}

pub(crate) fn opt_uuid(value: Option<Uuid>) -> Value {
    value.map_or(Value::Null, |id| Value::String(id.to_string()))
}
