/*
 * scopes.h — the Jira scopes of the vendor's setup guide (DESIGN §2), in
 * one place for oauth3lo.so and `jauth scopes`. The guide prints two of
 * them wrongly ("read: board-scope:jira-software", "read:issue:Jira");
 * these are the real names.
 */
#ifndef JAUTH_OAUTH3LO_SCOPES_H
#define JAUTH_OAUTH3LO_SCOPES_H

/* Every scope the guide lists: 7 Jira platform classic, 4 Jira Service
 * Management classic, 11 Jira granular. NULL-terminated. */
static const char *const jauth_scopes_full[] = {
	"read:jira-work",
	"manage:jira-project",
	"manage:jira-configuration",
	"read:jira-user",
	"write:jira-work",
	"manage:jira-webhook",
	"manage:jira-data-provider",
	"read:servicedesk-request",
	"manage:servicedesk-customer",
	"write:servicedesk-request",
	"read:servicemanagement-insight-objects",
	"read:issue:jira",
	"read:project:jira",
	"read:board-scope:jira-software",
	"read:sprint:jira-software",
	"read:issue-details:jira",
	"read:avatar:jira",
	"read:application-role:jira",
	"read:group:jira",
	"read:user:jira",
	"read:user.property:jira",
	"write:project:jira",
	NULL,
};

/* Always asked for: without it Atlassian returns no refresh token. */
#define JAUTH_SCOPE_OFFLINE "offline_access"

#endif
