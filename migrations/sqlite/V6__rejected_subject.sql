-- What a refused change was about, in words ("Northwind Traders", a ticket's
-- title), recorded when the server refused it: the refusal often means the
-- row is about to leave the replica (the customer was given to someone
-- else), and an inbox item naming only an id cannot be acted on.
ALTER TABLE rejected ADD COLUMN subject TEXT;
