-- Mail to a student goes to the verified address of their own account (identity.student_changed's
-- account_email), the roster's address only while there is no account: a student who got the code
-- by letter and registered with an address of their own is reached there.
ALTER TABLE students ADD COLUMN IF NOT EXISTS account_email text;
