CREATE TABLE "relay_frames" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "relay_frames_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tag" text NOT NULL,
	"blob" "bytea" NOT NULL,
	"digest" "bytea" NOT NULL,
	"size" integer NOT NULL,
	"at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "relay_state" (
	"id" smallint PRIMARY KEY NOT NULL,
	"evicted_through" bigint NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "relay_frames_digest_idx" ON "relay_frames" USING btree ("digest");--> statement-breakpoint
CREATE INDEX "relay_frames_tag_seq_idx" ON "relay_frames" USING btree ("tag","seq");