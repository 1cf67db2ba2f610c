//! The CRM's domain, shared by the sync server (PostgreSQL) and the desktop app
//! (SQLite): its entities, enums, the ticket workflow and the validation rules.
//!
//! The crate is pure: no database, network, file system or async, so both
//! sides can run the same rules and get the same answers.

pub mod access;
pub mod assignment;
pub mod auth;
pub mod catalogue;
pub mod codes;
pub mod drafts;
pub mod entities;
pub mod enums;
pub mod files;
pub mod merge;
pub mod protocol;
pub mod resources;
pub mod tls;
pub mod validation;
pub mod webhooks;
pub mod workflow;

pub use drafts::{
    NewAttachment, NewComment, NewCustomer, NewIntegrationToken, NewInteraction, NewProduct,
    NewTicket, TokenRename, TokenRotation,
};
pub use entities::{
    AcquisitionStageRow, Colleague, Customer, CustomerInteraction, IntegrationToken, Product,
    Profile, Ticket, TicketAssignee, TicketAttachment, TicketComment, TicketWorkflowHistory,
    TokenSecret,
};
pub use enums::{
    AcquisitionStage, CustomerStatus, IntegrationPermission, InteractionChannel, ParseEnumError,
    TicketPriority, TicketStatus, UserRole,
};
pub use validation::{ValidationError, ValidationErrors, attachment_path};
pub use workflow::{TransitionError, allowed_transition_pairs, check_transition};
