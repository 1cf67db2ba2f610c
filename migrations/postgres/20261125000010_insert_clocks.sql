-- One field-clock row per inserted row, instead of one per field it set.
--
-- Why: a 1,000-insert push of three fields wrote 3,000 clock rows, ~22 ms
-- of its ~130 ms in the database, the largest cost a push has that a plain
-- insert has not. Now an insert writes one row, field '*', whose `fields`
-- lists the columns the insert set: that is those fields' clock (when, by
-- whom, which mutation) until an edit gives one of them a row of its own.
--
-- Merging reads the same clocks as before: a field's own row if it has
-- one, else the insert's row if the insert set the field, else none (the
-- row's timestamp decides, as before). A field's own row is written no
-- earlier than the insert's clock (GREATEST, as when both were per-field
-- rows), so it always supersedes it.
ALTER TABLE sync.field_clock
    ADD COLUMN fields text[],
    ADD CONSTRAINT field_clock_insert_fields CHECK ((field = '*') = (fields IS NOT NULL));
