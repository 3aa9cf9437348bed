-- MBO staff choose whether they get the daily digest mail (the number of new completed dossiers
-- of their institution, sent by the notification service); on unless they switch it off. Travels
-- in identity.staff_changed (daily_digest).
ALTER TABLE staff ADD COLUMN daily_digest boolean NOT NULL DEFAULT true;
