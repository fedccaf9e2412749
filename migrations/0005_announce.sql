CREATE TABLE "bridge_announce_posted" (
	"group_id" text NOT NULL,
	"alias" text NOT NULL,
	"event_id" text NOT NULL,
	"matrix_event_id" text NOT NULL,
	CONSTRAINT "bridge_announce_posted_group_id_alias_event_id_pk" PRIMARY KEY("group_id","alias","event_id")
);
--> statement-breakpoint
CREATE TABLE "bridge_announce_rooms" (
	"group_id" text NOT NULL,
	"alias" text NOT NULL,
	"added_by" text NOT NULL,
	CONSTRAINT "bridge_announce_rooms_group_id_alias_pk" PRIMARY KEY("group_id","alias")
);
