CREATE TABLE `suppressions` (
	`email` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`created_at` integer NOT NULL
);
