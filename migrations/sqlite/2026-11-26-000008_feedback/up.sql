-- Written feedback (riscontro scritto, seed 004): the unit's letters to the referrer, the hosting
-- CAS and the territorial commission after the interviews, drafted, approved by a coordinator,
-- rendered once to PDF, and sent by (certified) email through the outbox.

-- Letters are emailed with their PDF attached and a Message-ID chosen beforehand, so that the
-- PEC receipts coming back can be matched to the letter they acknowledge. The attachment is
-- dropped from the outbox once the message is sent or given up.
CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('new_referral', 'emergency', 'escalation', 'overdue', 'decision', 'feedback', 'consent_withdrawn', 'case_assigned', 'interview_booked', 'feedback_letter')),
    reference TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    message_id TEXT,
    attachment_name TEXT,
    attachment BLOB,
    CHECK (attachment IS NULL OR attachment_name IS NOT NULL)
);
INSERT INTO outbox_new (id, recipient, subject, body_text, kind, reference, status, attempts, next_attempt_at,
        locked_until, last_error, created_at, sent_at)
    SELECT id, recipient, subject, body_text, kind, reference, status, attempts, next_attempt_at,
        locked_until, last_error, created_at, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE UNIQUE INDEX outbox_message_id ON outbox (message_id);

CREATE TABLE feedback_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL UNIQUE,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    -- The referral the letter answers, and who it goes to (a role of the source's procedure,
    -- `feedback_to` in protocols/procedures.toml, resolved to an organisation).
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    recipient_org_id BIGINT NOT NULL REFERENCES organisations (id),
    recipient_role TEXT NOT NULL CHECK (recipient_role IN ('referrer', 'hosting_cas', 'commission')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'sent')),
    -- Sealed under the case's data key.
    body BLOB NOT NULL,
    drafted_by BIGINT REFERENCES users (id),
    drafted_at TIMESTAMP NOT NULL,
    edited_by BIGINT REFERENCES users (id),
    approved_by BIGINT REFERENCES users (id),
    approved_at TIMESTAMP,
    -- Written once, at approval, never changed: the PDF (sealed under the case's data key), the
    -- SHA-256 of its plain bytes and its page count.
    pdf BLOB,
    pdf_sha256 TEXT CHECK (pdf_sha256 IS NULL OR length(pdf_sha256) = 64),
    pdf_pages INTEGER CHECK (pdf_pages IS NULL OR pdf_pages >= 1),
    sent_by BIGINT REFERENCES users (id),
    sent_at TIMESTAMP,
    recipient_email TEXT,
    outbox_id BIGINT REFERENCES outbox (id),
    message_id TEXT UNIQUE,
    -- What the PEC receipts said (the outbox says queued, sent or failed before any arrives).
    delivery TEXT CHECK (delivery IN ('queued', 'sent', 'accepted', 'delivered', 'not_delivered', 'failed')),
    accepted_at TIMESTAMP,
    delivered_at TIMESTAMP,
    not_delivered_at TIMESTAMP,
    version BIGINT NOT NULL CHECK (version >= 1),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK ((status = 'draft') = (approved_at IS NULL)),
    CHECK ((status = 'draft') = (pdf IS NULL)),
    CHECK ((pdf IS NULL) = (pdf_sha256 IS NULL)),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
    CHECK ((status = 'sent') = (message_id IS NOT NULL)),
    CHECK ((status = 'sent') = (delivery IS NOT NULL))
);
CREATE INDEX feedback_letters_case ON feedback_letters (case_id, id);
CREATE INDEX feedback_letters_recipient ON feedback_letters (recipient_org_id, status);
CREATE INDEX feedback_letters_referral ON feedback_letters (referral_id);
