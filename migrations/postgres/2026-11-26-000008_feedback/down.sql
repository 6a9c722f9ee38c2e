DROP TABLE feedback_letters;
DELETE FROM outbox WHERE kind = 'feedback_letter';
ALTER TABLE outbox DROP CONSTRAINT outbox_kind;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind CHECK (kind IN ('new_referral', 'emergency', 'escalation', 'overdue', 'decision', 'feedback', 'consent_withdrawn', 'case_assigned', 'interview_booked'));
DROP INDEX outbox_message_id;
ALTER TABLE outbox DROP CONSTRAINT outbox_attachment_named;
ALTER TABLE outbox DROP COLUMN attachment;
ALTER TABLE outbox DROP COLUMN attachment_name;
ALTER TABLE outbox DROP COLUMN message_id;
