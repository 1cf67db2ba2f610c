//! Customers: the list (search, filters, sorting, pages with a total), a
//! customer's page, and the add / edit / archive actions.

use std::collections::BTreeMap;

use crm_domain::entities::{Customer, CustomerInteraction, Ticket};
use crm_domain::protocol::{MutationOp, SyncTable};
use crm_domain::validation::blank_to_none;
use crm_domain::{AcquisitionStage, CustomerStatus, drafts::NewCustomer};
use rusqlite::{ToSql, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::access::{require_admin, require_manages_customer};
use super::codec::{opt_text, opt_uuid, validate_fields};
use super::outbox::changes_against;
use super::rows::{self, row_to_json};
use super::{Store, search};
use crate::error::{CoreError, CoreResult};

/// What the customer list shows: the filters, the order, and which page.
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
    /// Only the customers of this owner (the UI offers it to admins; an
    /// agent's replica holds their own customers anyway).
    #[serde(default)]
    pub owner: Option<Uuid>,
    #[serde(default)]
    pub include_archived: bool,
    /// The order chosen by the user. `None`: best match first while
    /// searching, else by name.
    #[serde(default)]
    pub sort: Option<CustomerSort>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub offset: Option<u32>,
}

/// A column the customer list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum CustomerSortColumn {
    Name,
    Email,
    Phone,
    /// In the pipeline's order (lead first), not alphabetically.
    Stage,
    /// In the vocabulary's order (active first).
    Status,
    /// By the owner's name.
    Owner,
    /// "Customer since".
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

/// The customer list's order: a column and a direction. Customers without
/// the value (no email, no owner, ...) come last either way, and equal
/// values fall back to the name, so every page has a stable place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CustomerSort {
    pub column: CustomerSortColumn,
    #[serde(default)]
    pub direction: SortDirection,
}

/// The owner's display name in the list's query (joined as `co`, `p`).
const OWNER_NAME: &str = "coalesce(co.full_name, p.full_name)";

/// Stages in pipeline order, as `AcquisitionStage::ALL` has them (a test in
/// `tests/store.rs` keeps the two in step); a stage this build does not
/// know sorts last.
const STAGE_ORDER: &str = "CASE c.acquisition_stage WHEN 'lead' THEN 0 WHEN 'qualified' THEN 1 \
     WHEN 'proposal' THEN 2 WHEN 'negotiation' THEN 3 WHEN 'closed_won' THEN 4 \
     WHEN 'closed_lost' THEN 5 ELSE 6 END";

/// Statuses in the vocabulary's order, as `CustomerStatus::ALL` has them.
const STATUS_ORDER: &str =
    "CASE c.status WHEN 'active' THEN 0 WHEN 'inactive' THEN 1 WHEN 'churned' THEN 2 ELSE 3 END";

impl CustomerSort {
    /// The ORDER BY clause: fixed SQL per column and direction, never text
    /// from the caller.
    fn order_by(self) -> String {
        let dir = match self.direction {
            SortDirection::Asc => "ASC",
            SortDirection::Desc => "DESC",
        };
        // Ties go by name, then id: a total order, so paging never shows a
        // customer twice or skips one.
        let then = "c.name COLLATE NOCASE, c.id";
        match self.column {
            CustomerSortColumn::Name => format!("c.name COLLATE NOCASE {dir}, c.id {dir}"),
            // Blank values last in both directions: `x = ''` is 0 before 1.
            CustomerSortColumn::Email => {
                format!("coalesce(c.email, '') = '', c.email COLLATE NOCASE {dir}, {then}")
            }
            CustomerSortColumn::Phone => {
                format!("coalesce(c.phone, '') = '', c.phone COLLATE NOCASE {dir}, {then}")
            }
            CustomerSortColumn::Stage => format!("{STAGE_ORDER} {dir}, {then}"),
            CustomerSortColumn::Status => format!("{STATUS_ORDER} {dir}, {then}"),
            CustomerSortColumn::Owner => format!(
                "coalesce(trim({OWNER_NAME}), '') = '', {OWNER_NAME} COLLATE NOCASE {dir}, {then}"
            ),
            // Timestamps are compared as instants: the server's and the
            // replica's own spellings of the same moment differ in digits.
            CustomerSortColumn::CreatedAt => {
                format!("c.created_at IS NULL, julianday(c.created_at) {dir}, c.id {dir}")
            }
            CustomerSortColumn::UpdatedAt => {
                format!("c.updated_at IS NULL, julianday(c.updated_at) {dir}, c.id {dir}")
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CustomerListItem {
    #[serde(flatten)]
    pub customer: Customer,
    pub owner_name: Option<String>,
}

/// One page of the customer list and how many customers match in all (the
/// filters and search applied, paging not), for "1–100 of 200".
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CustomerListPage {
    pub items: Vec<CustomerListItem>,
    pub total: i64,
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
    /// One page of the customer list, without the total (the ticket form's
    /// picker asks for a few matches as the user types).
    pub fn list_customers(&self, filter: &CustomerFilter) -> CoreResult<Vec<CustomerListItem>> {
        self.list_items(filter, &ListQuery::new(filter))
    }

    /// The customer list's page and how many customers match in all. Both
    /// are read while the caller holds the store, so they agree.
    pub fn customer_list(&self, filter: &CustomerFilter) -> CoreResult<CustomerListPage> {
        let list = ListQuery::new(filter);
        let items = self.list_items(filter, &list)?;
        // The owner's name is not needed to count, so neither are its joins.
        let sql = format!("SELECT count(*) FROM {} WHERE {}", list.from, list.clause);
        let total = self
            .conn()
            .prepare_cached(&sql)?
            .query_row(list.params().as_slice(), |r| r.get(0))?;
        Ok(CustomerListPage { items, total })
    }

    fn list_items(
        &self,
        filter: &CustomerFilter,
        list: &ListQuery,
    ) -> CoreResult<Vec<CustomerListItem>> {
        let def = rows::synced(SyncTable::Customers);
        let order = match (&list.search, filter.sort) {
            (_, Some(sort)) => sort.order_by(),
            // Ranked when the words narrow it down; newest first while they
            // are too broad to rank at typing speed (see search.rs).
            (Some(q), None) if search::is_broad(self.conn(), "customers_fts", q)? => {
                "f.rowid DESC".to_string()
            }
            (Some(_), None) => "f.rank".to_string(),
            (None, None) => "c.name COLLATE NOCASE, c.id".to_string(),
        };
        let limit = i64::from(filter.limit.unwrap_or(DEFAULT_LIMIT).min(1000));
        let offset = i64::from(filter.offset.unwrap_or(0));
        let (from, clause) = (list.from, &list.clause);
        let sql = format!(
            "SELECT c.id, c.name, c.email, c.phone, c.product_id, c.status, c.acquisition_stage,
                    c.owner, c.is_archived, c.created_at, c.updated_at, {OWNER_NAME}
             FROM {from}
             LEFT JOIN colleagues co ON co.id = c.owner
             LEFT JOIN profiles p ON p.id = c.owner
             WHERE {clause}
             ORDER BY {order}
             LIMIT ?6 OFFSET ?7"
        );
        let mut values = list.params();
        values.extend([&limit as &dyn ToSql, &offset]);
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(values.as_slice(), |r| {
            Ok((row_to_json(def, r)?, r.get::<_, Option<String>>(11)?))
        })?;
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
        let def = rows::synced(SyncTable::Customers);
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
            rows::synced(SyncTable::CustomerInteractions),
            "WHERE customer_id = ?1 ORDER BY created_at DESC, id DESC",
            params![id.to_string()],
        )?;
        let tickets = rows::read_where(
            conn,
            rows::synced(SyncTable::Tickets),
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
        let def = rows::synced(SyncTable::Customers);
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
            let def = rows::synced(SyncTable::Products);
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

/// The customer list's FROM and WHERE and their values, shared by a page
/// and its count. The clause names the same parameters in the same places
/// whichever filters are set: ?1 the search, ?2 the stage, ?3 the status, ?4
/// whether archived customers show, ?5 the owner. A filter that is not set
/// reads `?n IS NULL` (true: its value is bound as NULL), so a set one can
/// be a plain comparison that an index serves.
struct ListQuery {
    from: &'static str,
    clause: String,
    /// The FTS5 expression for what the user typed, if anything searchable.
    search: Option<String>,
    stage: Option<&'static str>,
    status: Option<&'static str>,
    include_archived: bool,
    owner: Option<String>,
}

impl ListQuery {
    fn new(filter: &CustomerFilter) -> Self {
        let search = filter.search.as_deref().and_then(search::match_expression);
        // Fixed fragments only; the user's words and values are bound.
        let (from, matching) = if search.is_some() {
            (
                "customers_fts f JOIN customers c ON c.rowid = f.rowid",
                "customers_fts MATCH ?1",
            )
        } else {
            ("customers c", "?1 IS NULL")
        };
        let stage = if filter.stage.is_some() {
            "c.acquisition_stage = ?2"
        } else {
            "?2 IS NULL"
        };
        let status = if filter.status.is_some() {
            "c.status = ?3"
        } else {
            "?3 IS NULL"
        };
        let owner = if filter.owner.is_some() {
            "c.owner = ?5"
        } else {
            "?5 IS NULL"
        };
        Self {
            from,
            clause: format!(
                "{matching} AND {stage} AND {status} AND (?4 OR NOT c.is_archived) AND {owner}"
            ),
            search,
            stage: filter.stage.map(|s| s.as_str()),
            status: filter.status.map(|s| s.as_str()),
            include_archived: filter.include_archived,
            owner: filter.owner.map(|id| id.to_string()),
        }
    }

    /// The values of ?1 to ?5, in order.
    fn params(&self) -> Vec<&dyn ToSql> {
        vec![
            &self.search,
            &self.stage,
            &self.status,
            &self.include_archived,
            &self.owner,
        ]
    }
}
