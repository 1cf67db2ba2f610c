-- Demo accounts and a customer each, for trying the schema by hand
-- (scripts/run). Idempotent: safe to apply on every start.
INSERT INTO auth.users (id, email, raw_user_meta_data) VALUES
    ('00000000-0000-7000-8000-00000000ada0', 'ada@example.com', '{"full_name": "Ada Admin"}'),
    ('00000000-0000-7000-8000-00000000b0b0', 'ben@example.com', '{"full_name": "Ben Agent"}')
ON CONFLICT (id) DO NOTHING;
UPDATE public.profiles SET role = 'admin'
WHERE id = '00000000-0000-7000-8000-00000000ada0' AND role <> 'admin';
INSERT INTO public.customers (id, name, email, acquisition_stage, owner) VALUES
    ('00000000-0000-7000-8000-0000000c0001', 'Northwind Traders', 'ops@northwind.example', 'qualified',
     '00000000-0000-7000-8000-00000000b0b0'),
    ('00000000-0000-7000-8000-0000000c0002', 'Contoso Ltd', 'hello@contoso.example', 'proposal',
     '00000000-0000-7000-8000-00000000ada0')
ON CONFLICT (id) DO NOTHING;
