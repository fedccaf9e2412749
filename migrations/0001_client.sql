CREATE TABLE "client_cursors" (
	"owner" text NOT NULL,
	"pursuance" text NOT NULL,
	"relay" text NOT NULL,
	"seq" bigint NOT NULL,
	CONSTRAINT "client_cursors_owner_pursuance_relay_pk" PRIMARY KEY("owner","pursuance","relay")
);
--> statement-breakpoint
CREATE TABLE "client_events" (
	"owner" text NOT NULL,
	"pursuance" text NOT NULL,
	"id" text NOT NULL,
	"n" bigserial NOT NULL,
	"bytes" "bytea" NOT NULL,
	CONSTRAINT "client_events_owner_pursuance_id_pk" PRIMARY KEY("owner","pursuance","id")
);
--> statement-breakpoint
CREATE TABLE "client_keys" (
	"owner" text NOT NULL,
	"pursuance" text NOT NULL,
	"key_id" text NOT NULL,
	"scope" text NOT NULL,
	"key" "bytea" NOT NULL,
	CONSTRAINT "client_keys_owner_pursuance_key_id_pk" PRIMARY KEY("owner","pursuance","key_id")
);
--> statement-breakpoint
CREATE INDEX "client_events_order_idx" ON "client_events" USING btree ("owner","pursuance","n");