CREATE TABLE "bridge_digest_sent" (
	"matrix_user" text NOT NULL,
	"group_id" text NOT NULL,
	"at" bigint NOT NULL,
	CONSTRAINT "bridge_digest_sent_matrix_user_group_id_pk" PRIMARY KEY("matrix_user","group_id")
);
--> statement-breakpoint
CREATE TABLE "bridge_digests" (
	"matrix_user" text PRIMARY KEY NOT NULL,
	"enabled" boolean NOT NULL,
	"at_minute" integer NOT NULL,
	"tz" text NOT NULL
);
