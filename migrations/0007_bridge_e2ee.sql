CREATE TABLE "bridge_e2ee_devices" (
	"user_id" text PRIMARY KEY NOT NULL,
	"device_id" text NOT NULL,
	"sealed_state" "bytea" NOT NULL
);
