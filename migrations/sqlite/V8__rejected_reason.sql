-- What happened to the row of a refused change, when the server knows
-- (crm_domain::protocol::RefusalReason as JSON): "Ada Admin reassigned
-- Stark Hardware to herself at 15:17" rather than the rule's code.
ALTER TABLE rejected ADD COLUMN reason TEXT;
