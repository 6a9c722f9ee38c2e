DELETE FROM case_events WHERE kind LIKE 'placement_%' OR kind = 'feedback_withdrawn';
ALTER TABLE case_events DROP CONSTRAINT case_events_kind_check;
ALTER TABLE case_events ADD CONSTRAINT case_events_kind_check CHECK (kind IN ('opened', 'referral_joined', 'transition', 'reassigned', 'interview_planned', 'interview_held', 'interview_cancelled', 'mediator_accepted', 'mediator_declined', 'note_added', 'assessment_recorded', 'outcome_recorded', 'task_added', 'task_done', 'flag_raised', 'flag_cleared', 'feedback_drafted', 'feedback_approved', 'feedback_sent', 'feedback_receipt'));
