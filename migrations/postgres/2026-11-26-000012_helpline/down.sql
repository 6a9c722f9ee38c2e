DROP TABLE helpline_services;
DROP TABLE helpline_contact_referrals;
DROP TABLE helpline_contacts;
DROP TABLE helpline_chats;
DROP TABLE helpline_calls;
