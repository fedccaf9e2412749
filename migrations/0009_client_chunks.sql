CREATE TABLE "client_chunks" (
	"owner" text NOT NULL,
	"pursuance" text NOT NULL,
	"tag" text NOT NULL,
	"blob" "bytea" NOT NULL,
	CONSTRAINT "client_chunks_owner_pursuance_tag_pk" PRIMARY KEY("owner","pursuance","tag")
);
