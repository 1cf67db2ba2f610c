-- A customer for each demo account (scripts/run). Idempotent: applied on
-- every start.
INSERT INTO public.customers (id, name, email, acquisition_stage, owner)
SELECT '00000000-0000-7000-8000-0000000c0001', 'Northwind Traders', 'ops@northwind.example', 'qualified', id
FROM auth.users WHERE email = 'ben@example.com'
ON CONFLICT (id) DO NOTHING;
INSERT INTO public.customers (id, name, email, acquisition_stage, owner)
SELECT '00000000-0000-7000-8000-0000000c0002', 'Contoso Ltd', 'hello@contoso.example', 'proposal', id
FROM auth.users WHERE email = 'ada@example.com'
ON CONFLICT (id) DO NOTHING;
