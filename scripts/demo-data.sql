-- Demo data for scripts/run: 300 customers (two thirds Ben's, a third
-- Ada's), two interactions each (Ben's first follow-ups fall due a few
-- minutes apart, a few are already overdue), and 90 tickets with comments
-- in every state of the workflow. Ids are fixed, so applying it again
-- (every start does) adds nothing.
--
-- With `psql -v reschedule=1`, it also sets the demo's follow-ups afresh
-- from now: scripts/run does that right before Ben first opens the app, so
-- they fall due while he watches, however long ago the data was seeded.

-- When the demo's interaction n (1-300), number k (0, 1) falls due: the
-- seed and the rescheduling share it. pg_temp: gone with this session.
CREATE FUNCTION pg_temp.demo_follow_up(n int, k int, bens boolean) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE
               WHEN k = 1 AND bens AND n <= 12 THEN now() + make_interval(mins => 2 + n * 3)
               WHEN k = 1 AND bens AND n <= 18 THEN now() - make_interval(hours => n)
               -- Later ones from tomorrow on (n % 20 = 0 would be "now", a wall
               -- of overdue follow-ups the moment the app opens).
               WHEN k = 1 AND n % 4 = 0 THEN now() + make_interval(days => 1 + n % 20)
           END
$$;

DO $$
DECLARE
    ben uuid := (SELECT id FROM auth.users WHERE email = 'ben@example.com');
    ada uuid := (SELECT id FROM auth.users WHERE email = 'ada@example.com');
    brands text[] := ARRAY['Northwind', 'Contoso', 'Fabrikam', 'Globex', 'Initech', 'Umbrella',
        'Hooli', 'Vandelay', 'Acme', 'Stark', 'Wayne', 'Wonka', 'Tyrell', 'Cyberdyne', 'Soylent'];
    trades text[] := ARRAY['Traders', 'Hardware', 'Foods', 'Logistics', 'Bakery', 'Garage',
        'Pharmacy', 'Studio', 'Farms', 'Dental', 'Books', 'Electric', 'Supplies', 'Optics', 'Cafe'];
    cities text[] := ARRAY['Berlin', 'Hamburg', 'Munich', 'Cologne', 'Leipzig'];
BEGIN
    IF ben IS NULL OR ada IS NULL THEN
        RAISE EXCEPTION 'create the demo accounts first';
    END IF;
    IF EXISTS (SELECT 1 FROM public.customers WHERE id = '00000000-0000-7000-8000-0000000c0001') THEN
        RETURN;
    END IF;

    INSERT INTO public.customers (id, name, email, phone, status, acquisition_stage, owner, created_at)
    SELECT ('00000000-0000-7000-8000-0000000c' || lpad(to_hex(n), 4, '0'))::uuid,
           brands[1 + (n - 1) % 15] || ' ' || trades[1 + ((n - 1) / 15) % 15]
               || CASE WHEN n > 225 THEN ' ' || cities[1 + n % 5] ELSE '' END,
           lower(brands[1 + (n - 1) % 15]) || '.' || lower(trades[1 + ((n - 1) / 15) % 15]) || n || '@example.com',
           '+49 30 ' || lpad(((n * 7919) % 9000000 + 1000000)::text, 7, '0'),
           (CASE WHEN n % 29 = 0 THEN 'churned' WHEN n % 17 = 0 THEN 'inactive' ELSE 'active' END),
           (enum_range(NULL::public.acquisition_stage_enum))[1 + (n * 5 + n / 7) % 6],
           CASE WHEN n % 3 = 0 THEN ada ELSE ben END,
           now() - make_interval(days => n)
    FROM generate_series(1, 300) n;

    INSERT INTO public.customer_interactions (id, customer_id, type, channel, note, follow_up_date, created_by, created_at)
    SELECT ('00000000-0000-7000-8000-0000001' || lpad(to_hex(n * 2 + k), 5, '0'))::uuid,
           c.id,
           (ARRAY['call', 'demo', 'site visit', 'renewal call', 'quote'])[1 + (n + k) % 5],
           (enum_range(NULL::public.interaction_channel))[1 + (n + k) % 5],
           (ARRAY['Asked for a quote for the spring order.', 'Interested in the premium plan; call back.',
                  'Complained about delivery times.', 'Wants a demo for the whole team.',
                  'Happy with the service; may refer a friend.'])[1 + (n * 3 + k) % 5],
           pg_temp.demo_follow_up(n, k, c.owner = ben),
           c.owner,
           now() - make_interval(hours => n * 5 + k)
    FROM generate_series(1, 300) n
    CROSS JOIN generate_series(0, 1) k
    JOIN public.customers c ON c.id = ('00000000-0000-7000-8000-0000000c' || lpad(to_hex(n), 4, '0'))::uuid;

    INSERT INTO public.tickets (id, title, description, priority, customer_id, assigned_to, created_by, created_at)
    SELECT ('00000000-0000-7000-8000-0000000d' || lpad(to_hex(n), 4, '0'))::uuid,
           (ARRAY['Delivery arrived damaged', 'Invoice shows the wrong amount', 'Cannot log in to the portal',
                  'Request for a second installation', 'Warranty claim', 'Change of billing address'])[1 + n % 6],
           'Reported by the customer on the phone. Reference ' || (1000 + n) || '.',
           (enum_range(NULL::public.ticket_priority))[1 + n % 4],
           c.id, c.owner, c.owner,
           now() - make_interval(days => n % 30, hours => n)
    FROM generate_series(1, 90) n
    JOIN public.customers c ON c.id = ('00000000-0000-7000-8000-0000000c' || lpad(to_hex(n * 3 - n % 3), 4, '0'))::uuid;

    -- Move some along the workflow (each step a transition it allows).
    UPDATE public.tickets SET status = 'in_progress'
    WHERE id IN (SELECT ('00000000-0000-7000-8000-0000000d' || lpad(to_hex(n), 4, '0'))::uuid
                 FROM generate_series(1, 90) n WHERE n % 5 IN (1, 2, 3));
    UPDATE public.tickets SET status = 'pending_customer'
    WHERE id IN (SELECT ('00000000-0000-7000-8000-0000000d' || lpad(to_hex(n), 4, '0'))::uuid
                 FROM generate_series(1, 90) n WHERE n % 5 = 2);
    UPDATE public.tickets SET status = 'resolved'
    WHERE id IN (SELECT ('00000000-0000-7000-8000-0000000d' || lpad(to_hex(n), 4, '0'))::uuid
                 FROM generate_series(1, 90) n WHERE n % 5 = 3);

    INSERT INTO public.ticket_comments (id, ticket_id, content, is_internal, created_by, created_at)
    SELECT ('00000000-0000-7000-8000-0000002' || lpad(to_hex(n * 2 + k), 5, '0'))::uuid,
           t.id,
           CASE k WHEN 0 THEN 'Thanks for reporting this: we are looking into it.'
                  ELSE 'Internal: checked with the warehouse, replacement on its way.' END,
           k = 1, t.created_by,
           t.created_at + make_interval(hours => 1 + k)
    FROM generate_series(1, 90) n
    CROSS JOIN generate_series(0, 1) k
    JOIN public.tickets t ON t.id = ('00000000-0000-7000-8000-0000000d' || lpad(to_hex(n), 4, '0'))::uuid;
END
$$;

\if :{?reschedule}
-- The demo's follow-ups from now, as if just seeded: only the demo's own
-- interactions (fixed ids) that the demo gives a follow-up.
WITH ben AS (SELECT id FROM auth.users WHERE email = 'ben@example.com'),
demo AS (
    SELECT ('00000000-0000-7000-8000-0000001' || lpad(to_hex(n * 2 + k), 5, '0'))::uuid AS id,
           pg_temp.demo_follow_up(n, k, c.owner = ben.id) AS due
    FROM generate_series(1, 300) n
    CROSS JOIN generate_series(0, 1) k
    CROSS JOIN ben
    JOIN public.customers c ON c.id = ('00000000-0000-7000-8000-0000000c' || lpad(to_hex(n), 4, '0'))::uuid
)
UPDATE public.customer_interactions i
SET follow_up_date = demo.due
FROM demo
WHERE i.id = demo.id AND demo.due IS NOT NULL AND i.follow_up_date IS DISTINCT FROM demo.due;
\endif
