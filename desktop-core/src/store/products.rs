//! The product catalogue as the replica holds it: what a customer can be
//! linked to. Admins manage products on the server; agents only read them.

use crm_domain::Product;

use crm_domain::protocol::SyncTable;

use super::Store;
use super::rows;
use crate::error::CoreResult;

impl Store {
    /// Every product, active ones first, then by name.
    pub fn products(&self) -> CoreResult<Vec<Product>> {
        let def = rows::synced(SyncTable::Products);
        rows::read_where(
            self.conn(),
            def,
            "ORDER BY is_active DESC, name COLLATE NOCASE",
            [],
        )
    }
}
