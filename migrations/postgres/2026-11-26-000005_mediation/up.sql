-- A proposed mediator accepts or declines; the history says so.
ALTER TABLE referral_routing ADD COLUMN mediator_answer TEXT CHECK (mediator_answer IN ('accepted', 'declined'));
ALTER TABLE referral_routing ADD COLUMN mediator_answered_at TIMESTAMP;
ALTER TABLE referral_events DROP CONSTRAINT referral_events_kind;
ALTER TABLE referral_events ADD CONSTRAINT referral_events_kind CHECK (kind IN ('created', 'consent_recorded', 'task_contact_cas', 'task_interview_sai_desk', 'assigned', 'unassigned', 'mediator_proposed', 'mediator_missing', 'acknowledged', 'escalated', 'overdue', 'taken_in_charge', 'declined', 'feedback_sent', 'consent_withdrawn', 'confirmed', 'imported', 'mediator_accepted', 'mediator_declined'));
