CREATE TABLE "bridge_direct_rooms" (
	"matrix_user" text PRIMARY KEY NOT NULL,
	"room_id" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "bridge_said" (
	"room_id" text NOT NULL,
	"user_id" text NOT NULL,
	"what" text NOT NULL,
	CONSTRAINT "bridge_said_room_id_user_id_what_pk" PRIMARY KEY("room_id","user_id","what")
);
--> statement-breakpoint
ALTER TABLE "bridge_posted" DROP CONSTRAINT "bridge_posted_group_id_event_id_pk";--> statement-breakpoint
ALTER TABLE "bridge_posted" ALTER COLUMN "matrix_event_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "bridge_posted" ADD CONSTRAINT "bridge_posted_group_id_room_id_event_id_kind_pk" PRIMARY KEY("group_id","room_id","event_id","kind");