CREATE TABLE "bridge_ghosts" (
	"user_id" text PRIMARY KEY NOT NULL,
	"display_name" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "bridge_identities" (
	"matrix_user" text NOT NULL,
	"group_id" text NOT NULL,
	"member_id" text NOT NULL,
	"sealed_secret" "bytea" NOT NULL,
	CONSTRAINT "bridge_identities_matrix_user_group_id_pk" PRIMARY KEY("matrix_user","group_id")
);
--> statement-breakpoint
CREATE TABLE "bridge_inbound" (
	"event_id" text PRIMARY KEY NOT NULL,
	"room_id" text NOT NULL,
	"n" bigserial NOT NULL,
	"event" text NOT NULL,
	"done" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "bridge_posted" (
	"group_id" text NOT NULL,
	"event_id" text NOT NULL,
	"room_id" text NOT NULL,
	"matrix_event_id" text NOT NULL,
	"kind" text NOT NULL,
	"task_id" text,
	CONSTRAINT "bridge_posted_group_id_event_id_pk" PRIMARY KEY("group_id","event_id")
);
--> statement-breakpoint
CREATE TABLE "bridge_role_rooms" (
	"group_id" text NOT NULL,
	"role" text NOT NULL,
	"room_id" text NOT NULL,
	CONSTRAINT "bridge_role_rooms_group_id_role_pk" PRIMARY KEY("group_id","role")
);
--> statement-breakpoint
CREATE TABLE "bridge_rooms" (
	"room_id" text PRIMARY KEY NOT NULL,
	"group_id" text NOT NULL,
	"pursuance_id" text NOT NULL,
	"name" text NOT NULL,
	"relays" text NOT NULL,
	"bound_by" text NOT NULL
);
--> statement-breakpoint
CREATE INDEX "bridge_inbound_pending_idx" ON "bridge_inbound" USING btree ("done","n");--> statement-breakpoint
CREATE INDEX "bridge_posted_task_idx" ON "bridge_posted" USING btree ("group_id","task_id","kind");--> statement-breakpoint
CREATE UNIQUE INDEX "bridge_posted_matrix_idx" ON "bridge_posted" USING btree ("room_id","matrix_event_id");