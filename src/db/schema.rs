//! Diesel table definitions, shared by both backends (migrations keep them equal).

diesel::table! {
    organisations (id) {
        id -> BigInt,
        name -> Text,
        kind -> Text,
        section -> Nullable<Text>,
        region -> Nullable<Text>,
        province -> Nullable<Text>,
        email -> Nullable<Text>,
        active -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        display_name -> Text,
        email -> Nullable<Text>,
        role -> Text,
        org_id -> Nullable<BigInt>,
        password_hash -> Text,
        disabled -> Bool,
        failed_logins -> Integer,
        locked_until -> Nullable<Timestamp>,
        last_login_at -> Nullable<Timestamp>,
        password_changed_at -> Timestamp,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_languages (user_id, language) {
        user_id -> BigInt,
        language -> Text,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> BigInt,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        prefix -> Text,
        label -> Text,
        org_id -> BigInt,
        role -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_kind -> Text,
        actor_user_id -> Nullable<BigInt>,
        actor_token_id -> Nullable<BigInt>,
        actor_label -> Nullable<Text>,
        actor_role -> Nullable<Text>,
        org_id -> Nullable<BigInt>,
        ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
        action -> Text,
        entity_type -> Nullable<Text>,
        entity_id -> Nullable<Text>,
        outcome -> Text,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    setup_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Text,
        window_start -> Timestamp,
        attempts -> Integer,
    }
}

diesel::table! {
    master_keys (id) {
        id -> Text,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    data_keys (id) {
        id -> BigInt,
        wrapped -> Nullable<Binary>,
        master_key_id -> Nullable<Text>,
        created_at -> Timestamp,
        destroyed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    referrals (id) {
        id -> BigInt,
        reference -> Text,
        status -> Text,
        channel -> Text,
        source_kind -> Text,
        referring_org_id -> Nullable<BigInt>,
        received_at -> Timestamp,
        urgency -> Text,
        person_gender -> Text,
        person_age_band -> Nullable<Text>,
        person_minor -> Bool,
        hosted_org_id -> Nullable<BigInt>,
        emergence_province -> Nullable<Text>,
        emergence_context -> Nullable<Text>,
        indicators_version -> Nullable<Text>,
        interview_joint -> Nullable<Bool>,
        submitter_org_id -> Nullable<BigInt>,
        created_by_user_id -> Nullable<BigInt>,
        created_by_token_id -> Nullable<BigInt>,
        data_key_id -> Nullable<BigInt>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        person_citizenship -> Nullable<Text>,
        exploitation_province -> Nullable<Text>,
        person_age_broad -> Nullable<Text>,
    }
}

diesel::table! {
    referral_routing (referral_id) {
        referral_id -> BigInt,
        assigned_operator_id -> Nullable<BigInt>,
        proposed_mediator_id -> Nullable<BigInt>,
        acknowledged_at -> Nullable<Timestamp>,
        escalated_at -> Nullable<Timestamp>,
        mediator_answer -> Nullable<Text>,
        mediator_answered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    referral_decisions (referral_id) {
        referral_id -> BigInt,
        decided_at -> Timestamp,
        decided_by -> Nullable<BigInt>,
        decline_reason -> Nullable<Text>,
        duplicate_of -> Nullable<BigInt>,
        note -> Nullable<Binary>,
    }
}

diesel::table! {
    referral_exploitation (referral_id, exploitation) {
        referral_id -> BigInt,
        exploitation -> Text,
    }
}

diesel::table! {
    referral_indicators (referral_id, indicator) {
        referral_id -> BigInt,
        indicator -> Text,
    }
}

diesel::table! {
    referral_labour_sectors (referral_id, sector) {
        referral_id -> BigInt,
        sector -> Text,
    }
}

diesel::table! {
    referral_recruiter_relations (referral_id, relation) {
        referral_id -> BigInt,
        relation -> Text,
    }
}

diesel::table! {
    referral_languages (referral_id, language) {
        referral_id -> BigInt,
        language -> Text,
    }
}

diesel::table! {
    referral_people (referral_id) {
        referral_id -> BigInt,
        alias -> Nullable<Binary>,
        age -> Nullable<Binary>,
        nationality -> Nullable<Binary>,
        referrer_contact -> Nullable<Binary>,
        notes -> Nullable<Binary>,
        source_file -> Nullable<Binary>,
    }
}

diesel::table! {
    referral_consents (referral_id) {
        referral_id -> BigInt,
        audition_date -> Date,
        commission_org_id -> BigInt,
        section -> Nullable<Text>,
        collected_by -> Nullable<Binary>,
        scope -> Text,
        contact_route -> Text,
        contact_detail -> Nullable<Binary>,
        withdrawn_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    referral_events (id) {
        id -> BigInt,
        referral_id -> BigInt,
        at -> Timestamp,
        actor_user_id -> Nullable<BigInt>,
        actor_label -> Nullable<Text>,
        kind -> Text,
        subject_user_id -> Nullable<BigInt>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    referral_feedback (id) {
        id -> BigInt,
        referral_id -> BigInt,
        at -> Timestamp,
        author_user_id -> Nullable<BigInt>,
        body -> Nullable<Binary>,
    }
}

diesel::table! {
    pending_seal (id) {
        id -> BigInt,
        referral_id -> BigInt,
        target -> Text,
        row_id -> Nullable<BigInt>,
        value -> Text,
    }
}

diesel::table! {
    idempotency_keys (id) {
        id -> BigInt,
        scope -> Text,
        key -> Text,
        referral_id -> BigInt,
        request_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    hotline_calls (id) {
        id -> BigInt,
        started_at -> Timestamp,
        duration_secs -> Integer,
        language -> Text,
        caller_kind -> Text,
        region -> Nullable<Text>,
        province -> Nullable<Text>,
        outcome -> Text,
        diverted_project -> Nullable<Text>,
        referral_id -> Nullable<BigInt>,
        operator_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    shifts (id) {
        id -> BigInt,
        user_id -> BigInt,
        duty -> Text,
        mode -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        kind -> Text,
        reference -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        message_id -> Nullable<Text>,
        attachment_name -> Nullable<Text>,
        attachment -> Nullable<Binary>,
    }
}

diesel::table! {
    persons (id) {
        id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    referral_persons (referral_id) {
        referral_id -> BigInt,
        person_id -> BigInt,
        linked_at -> Timestamp,
        linked_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    cases (id) {
        id -> BigInt,
        reference -> Text,
        person_id -> BigInt,
        status -> Text,
        operator_id -> Nullable<BigInt>,
        data_key_id -> Nullable<BigInt>,
        opened_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    case_referrals (referral_id) {
        referral_id -> BigInt,
        case_id -> BigInt,
        joined_at -> Timestamp,
    }
}

diesel::table! {
    case_events (id) {
        id -> BigInt,
        case_id -> BigInt,
        at -> Timestamp,
        actor_user_id -> Nullable<BigInt>,
        actor_label -> Nullable<Text>,
        kind -> Text,
        subject_user_id -> Nullable<BigInt>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    case_tasks (id) {
        id -> BigInt,
        case_id -> BigInt,
        kind -> Text,
        note -> Nullable<Binary>,
        due_at -> Timestamp,
        assignee_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        created_by -> Nullable<BigInt>,
        done_at -> Nullable<Timestamp>,
        done_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    case_flags (id) {
        id -> BigInt,
        case_id -> BigInt,
        kind -> Text,
        reason -> Nullable<Binary>,
        raised_at -> Timestamp,
        raised_by -> Nullable<BigInt>,
        cleared_at -> Nullable<Timestamp>,
        cleared_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    interviews (id) {
        id -> BigInt,
        case_id -> BigInt,
        kind -> Text,
        status -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        setting -> Text,
        joint -> Bool,
        language -> Nullable<Text>,
        mediator_id -> Nullable<BigInt>,
        mediator_answer -> Nullable<Text>,
        others -> Nullable<Binary>,
        notes -> Nullable<Binary>,
        version -> BigInt,
        created_at -> Timestamp,
        created_by -> Nullable<BigInt>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    interview_staff (interview_id, user_id) {
        interview_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    assessment_notes (id) {
        id -> BigInt,
        case_id -> BigInt,
        at -> Timestamp,
        author_id -> Nullable<BigInt>,
        body -> Binary,
    }
}

diesel::table! {
    assessments (id) {
        id -> BigInt,
        case_id -> BigInt,
        instrument_version -> Text,
        assessed_at -> Timestamp,
        assessed_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    assessment_answers (assessment_id, item) {
        assessment_id -> BigInt,
        item -> Text,
        answer -> Text,
    }
}

diesel::table! {
    assessment_agencies (assessment_id, agency) {
        assessment_id -> BigInt,
        agency -> Text,
    }
}

diesel::table! {
    case_outcomes (id) {
        id -> BigInt,
        case_id -> BigInt,
        kind -> Text,
        project_id -> Nullable<Text>,
        transfer_state -> Nullable<Text>,
        consent -> Nullable<Bool>,
        decided_at -> Timestamp,
        decided_by -> Nullable<BigInt>,
    }
}

diesel::joinable!(users -> organisations (org_id));
diesel::joinable!(user_languages -> users (user_id));
diesel::joinable!(referral_events -> referrals (referral_id));
diesel::joinable!(referral_people -> referrals (referral_id));
diesel::joinable!(referral_consents -> referrals (referral_id));
diesel::joinable!(referral_feedback -> referrals (referral_id));
diesel::joinable!(referral_routing -> referrals (referral_id));
diesel::joinable!(referral_decisions -> referrals (referral_id));
diesel::joinable!(referral_exploitation -> referrals (referral_id));
diesel::joinable!(referral_indicators -> referrals (referral_id));
diesel::joinable!(referral_labour_sectors -> referrals (referral_id));
diesel::joinable!(referral_languages -> referrals (referral_id));
diesel::joinable!(referral_recruiter_relations -> referrals (referral_id));
diesel::joinable!(referrals -> data_keys (data_key_id));
diesel::joinable!(shifts -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> organisations (org_id));
diesel::joinable!(referral_persons -> persons (person_id));
diesel::joinable!(cases -> persons (person_id));
diesel::joinable!(case_referrals -> cases (case_id));
diesel::joinable!(case_events -> cases (case_id));
diesel::joinable!(case_tasks -> cases (case_id));
diesel::joinable!(case_flags -> cases (case_id));
diesel::joinable!(interviews -> cases (case_id));
diesel::joinable!(interview_staff -> interviews (interview_id));
diesel::joinable!(assessment_notes -> cases (case_id));
diesel::joinable!(assessments -> cases (case_id));
diesel::joinable!(assessment_answers -> assessments (assessment_id));
diesel::joinable!(assessment_agencies -> assessments (assessment_id));
diesel::joinable!(case_outcomes -> cases (case_id));

diesel::table! {
    feedback_letters (id) {
        id -> BigInt,
        reference -> Text,
        case_id -> BigInt,
        referral_id -> BigInt,
        recipient_org_id -> BigInt,
        recipient_role -> Text,
        status -> Text,
        body -> Binary,
        drafted_by -> Nullable<BigInt>,
        drafted_at -> Timestamp,
        edited_by -> Nullable<BigInt>,
        approved_by -> Nullable<BigInt>,
        approved_at -> Nullable<Timestamp>,
        pdf -> Nullable<Binary>,
        pdf_sha256 -> Nullable<Text>,
        pdf_pages -> Nullable<Integer>,
        sent_by -> Nullable<BigInt>,
        sent_at -> Nullable<Timestamp>,
        recipient_email -> Nullable<Text>,
        outbox_id -> Nullable<BigInt>,
        message_id -> Nullable<Text>,
        delivery -> Nullable<Text>,
        accepted_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        not_delivered_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(feedback_letters -> cases (case_id));
diesel::joinable!(feedback_letters -> outbox (outbox_id));

diesel::table! {
    index_keys (purpose) {
        purpose -> Text,
        data_key_id -> BigInt,
        backfill_below -> BigInt,
        backfilled_to -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    referral_blind (referral_id, purpose, token) {
        referral_id -> BigInt,
        purpose -> Text,
        token -> Binary,
    }
}

diesel::table! {
    match_decisions (id) {
        id -> BigInt,
        referral_id -> BigInt,
        person_id -> BigInt,
        decision -> Text,
        score -> Nullable<Integer>,
        reasons -> Nullable<Text>,
        decided_by -> Nullable<BigInt>,
        decided_at -> Timestamp,
    }
}

diesel::joinable!(referral_blind -> referrals (referral_id));

diesel::table! {
    escape_points (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        province -> Text,
        address -> Nullable<Binary>,
        data_key_id -> Nullable<BigInt>,
        beds -> Integer,
        family_rooms -> Integer,
        takes_women -> Bool,
        takes_men -> Bool,
        takes_minors -> Bool,
        takes_children -> Bool,
        takes_trans -> Bool,
        accessible -> Bool,
        contact_phone -> Text,
        status -> Text,
        suspended_reason -> Nullable<Text>,
        example -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    escape_point_languages (point_id, language) {
        point_id -> BigInt,
        language -> Text,
    }
}

diesel::table! {
    placements (id) {
        id -> BigInt,
        case_id -> BigInt,
        point_id -> BigInt,
        kind -> Text,
        place_type -> Text,
        status -> Text,
        operator_id -> Nullable<BigInt>,
        expires_at -> Nullable<Timestamp>,
        checked_in_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        check_out_reason -> Nullable<Text>,
        turn_away_reason -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(escape_point_languages -> escape_points (point_id));
diesel::joinable!(placements -> escape_points (point_id));
diesel::joinable!(placements -> cases (case_id));

diesel::allow_tables_to_appear_in_same_query!(
    feedback_letters,
    organisations,
    users,
    user_languages,
    sessions,
    api_tokens,
    audit_log,
    setup_tokens,
    login_throttle,
    master_keys,
    data_keys,
    referrals,
    referral_routing,
    referral_decisions,
    referral_exploitation,
    referral_indicators,
    referral_labour_sectors,
    referral_languages,
    referral_recruiter_relations,
    referral_people,
    pending_seal,
    referral_consents,
    referral_events,
    referral_feedback,
    idempotency_keys,
    hotline_calls,
    shifts,
    outbox,
    persons,
    referral_persons,
    index_keys,
    referral_blind,
    match_decisions,
    cases,
    case_referrals,
    case_events,
    case_tasks,
    case_flags,
    interviews,
    interview_staff,
    assessment_notes,
    assessments,
    assessment_answers,
    assessment_agencies,
    case_outcomes,
    escape_points,
    escape_point_languages,
    placements,
);

diesel::table! {
    helpline_calls (id) {
        id -> BigInt,
        uniqueid -> Text,
        direction -> Text,
        started_at -> Timestamp,
        outcome -> Text,
        wait_secs -> Nullable<Integer>,
        talk_secs -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    helpline_chats (id) {
        id -> BigInt,
        external_id -> Text,
        started_at -> Timestamp,
        channel -> Text,
        first_response_secs -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    helpline_contacts (id) {
        id -> BigInt,
        contacted_at -> Timestamp,
        channel -> Text,
        who -> Nullable<Text>,
        region -> Nullable<Text>,
        reason -> Nullable<Text>,
        learned_from -> Nullable<Text>,
        first_contact -> Nullable<Bool>,
        atr -> Nullable<Text>,
        operator_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    helpline_contact_referrals (contact_id, target) {
        contact_id -> BigInt,
        target -> Text,
    }
}

diesel::joinable!(helpline_contact_referrals -> helpline_contacts (contact_id));
diesel::allow_tables_to_appear_in_same_query!(helpline_contacts, helpline_contact_referrals);

diesel::table! {
    helpline_services (id) {
        id -> BigInt,
        kind -> Text,
        name -> Text,
        region -> Text,
        province -> Text,
        municipality -> Text,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        address -> Nullable<Text>,
        sealed_address -> Nullable<Binary>,
        data_key_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}
