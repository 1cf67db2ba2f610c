-- The field a refused change concerns, when the server names one
-- (crm_domain::protocol::MutationOutcome::Rejected::field): the inbox says
-- "phone: ..." and the edit form can point at it.
ALTER TABLE rejected ADD COLUMN field TEXT;
