-- SQL workload for tests/preload/sqlite3.sh: output must be identical with
-- and without libreclaim-malloc.so. Everything printed is deterministic.
.bail on
.headers on
.mode list
PRAGMA cache_size = -4000;
PRAGMA journal_mode = WAL;

CREATE TABLE customers(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  city TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE TABLE products(
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  price REAL NOT NULL,
  descr TEXT
);
CREATE TABLE orders(
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  product_id INTEGER NOT NULL REFERENCES products(id),
  qty INTEGER NOT NULL,
  day INTEGER NOT NULL,
  note TEXT
);

BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
INSERT INTO customers
SELECT x, 'customer-' || x, 'city-' || (x * 7919 % 97), (x * 104729) % 1000000 FROM c;

WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000)
INSERT INTO products
SELECT x, printf('product %04d', x), ((x * 31337) % 10000) / 100.0,
       substr(hex(zeroblob(64 + x % 700)), 1, 20 + x % 900) FROM c;

WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
INSERT INTO orders
SELECT x, 1 + (x * 48271) % 20000, 1 + (x * 16807) % 1000, 1 + x % 9, x % 365,
       CASE WHEN x % 5 = 0 THEN printf('note %d %s', x, replace(hex(zeroblob(x % 200)), '0', 'ab')) END
FROM c;
COMMIT;

CREATE INDEX orders_customer ON orders(customer_id);
CREATE INDEX orders_product_day ON orders(product_id, day);
CREATE INDEX customers_city ON customers(city, name);
ANALYZE;

SELECT count(*) AS orders, sum(qty) AS items, count(note) AS notes, sum(length(note)) AS note_bytes FROM orders;

-- join + group by + order by
SELECT c.city, count(*) AS n, sum(o.qty) AS items, printf('%.2f', sum(o.qty * p.price)) AS revenue
FROM orders o JOIN customers c ON c.id = o.customer_id JOIN products p ON p.id = o.product_id
GROUP BY c.city ORDER BY revenue DESC, c.city LIMIT 15;

-- top customers, window function
SELECT name, spent, rnk FROM (
  SELECT c.name, printf('%.2f', sum(o.qty * p.price)) AS spent,
         rank() OVER (ORDER BY sum(o.qty * p.price) DESC) AS rnk
  FROM customers c JOIN orders o ON o.customer_id = c.id JOIN products p ON p.id = o.product_id
  GROUP BY c.id)
WHERE rnk <= 10 ORDER BY rnk, name;

-- per-day running totals
SELECT day, n, sum(n) OVER (ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
FROM (SELECT day, count(*) AS n FROM orders GROUP BY day) WHERE day % 30 = 0 ORDER BY day;

-- big sort without an index, big strings
SELECT length(group_concat(title, ',')) AS titles_len FROM (SELECT title FROM products ORDER BY descr DESC, title);
SELECT id, qty, day FROM orders ORDER BY (id * 2654435761) % 1000003, id LIMIT 10;
SELECT count(DISTINCT customer_id), count(DISTINCT product_id * 1000 + day) FROM orders;
SELECT hex(sha) FROM (SELECT substr(group_concat(id || ':' || qty, ';'), 1, 64) AS sha FROM (SELECT id, qty FROM orders ORDER BY day, id));

-- subqueries, EXISTS, IN
SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id);
SELECT count(*) FROM products WHERE id IN (SELECT product_id FROM orders WHERE qty = 9 AND day < 10);

-- updates and deletes, then integrity
BEGIN;
UPDATE orders SET note = coalesce(note, '') || '+upd' WHERE id % 7 = 0;
DELETE FROM orders WHERE id % 11 = 0;
UPDATE products SET descr = upper(descr) || descr WHERE id % 3 = 0;
COMMIT;
SELECT count(*), sum(length(note)) FROM orders;
PRAGMA wal_checkpoint(TRUNCATE);
VACUUM;
PRAGMA integrity_check;

-- temp table with a JSON-ish text column
CREATE TEMP TABLE summary AS
SELECT product_id, json_group_array(json_object('day', day, 'qty', qty)) AS js
FROM orders WHERE product_id <= 50 GROUP BY product_id;
SELECT product_id, json_array_length(js), length(js) FROM summary ORDER BY product_id LIMIT 5;
SELECT sum(json_array_length(js)) FROM summary;
