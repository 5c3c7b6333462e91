-- Leal's card and poster fields.
--
-- Cards: the strip's opacity over the card colour (percent) and the extra lines on the
-- front of their passes (a JSON array of at most two strings).
--
-- Posters take Leal's contact fields: `contact_collection_mode` is `email_and_phone`,
-- `email_only` or `phone_only`, and `require_email` / `require_phone` make a collected
-- field required; `birthday_required` is now `require_birthday`, with an optional
-- `minimum_age`. Stored posters keep asking what they asked: `email_and_phone` (both
-- required) keeps both required before `email_or_phone` (either) takes its name.

ALTER TABLE cards ADD COLUMN strip_opacity INTEGER NOT NULL DEFAULT 100;
ALTER TABLE cards ADD COLUMN auxiliary_fields TEXT NOT NULL DEFAULT '[]';

ALTER TABLE posters ADD COLUMN require_email INTEGER NOT NULL DEFAULT 0;
ALTER TABLE posters ADD COLUMN require_phone INTEGER NOT NULL DEFAULT 0;
ALTER TABLE posters ADD COLUMN minimum_age INTEGER;
ALTER TABLE posters RENAME COLUMN birthday_required TO require_birthday;

UPDATE posters SET require_email = 1, require_phone = 1
WHERE contact_collection_mode = 'email_and_phone';
UPDATE posters SET contact_collection_mode = CASE contact_collection_mode
    WHEN 'email_or_phone' THEN 'email_and_phone'
    WHEN 'email' THEN 'email_only'
    WHEN 'phone' THEN 'phone_only'
    ELSE contact_collection_mode
END;
