CREATE TABLE "bridge_requests" (
	"room_id" text NOT NULL,
	"matrix_user" text NOT NULL,
	"address" text NOT NULL,
	"message" text NOT NULL,
	"display_name" text NOT NULL,
	CONSTRAINT "bridge_requests_room_id_matrix_user_pk" PRIMARY KEY("room_id","matrix_user")
);
