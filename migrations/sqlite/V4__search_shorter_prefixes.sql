-- Prefix indexes of 2 and 3 characters instead of 2 to 4. Building the
-- search index was most of a first load's cost once the rows were in, and
-- each indexed prefix length adds an entry per word: over 300,000
-- customers a rebuild took 3.3 s with '2 3 4' and 1.9 s with '2 3'. A
-- four-letter prefix is selective enough to be read from the main index
-- (the search benchmark's p99 is in the README). The triggers name the
-- tables, so recreating them keeps the triggers.

DROP TABLE customers_fts;
CREATE VIRTUAL TABLE customers_fts USING fts5(
    name, email, phone, content = 'customers', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
INSERT INTO customers_fts (customers_fts) VALUES ('rebuild');

DROP TABLE tickets_fts;
CREATE VIRTUAL TABLE tickets_fts USING fts5(
    title, description, content = 'tickets', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
INSERT INTO tickets_fts (tickets_fts) VALUES ('rebuild');

DROP TABLE ticket_comments_fts;
CREATE VIRTUAL TABLE ticket_comments_fts USING fts5(
    content, content = 'ticket_comments', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
INSERT INTO ticket_comments_fts (ticket_comments_fts) VALUES ('rebuild');
