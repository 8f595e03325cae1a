CREATE TABLE `bounces` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`source` text NOT NULL,
	`email` text,
	`status` text,
	`diagnostic` text,
	`matched_by` text,
	`delivery_id` integer,
	`mailing_id` integer,
	`subscriber_id` integer,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `bounces_subscriber` ON `bounces` (`subscriber_id`);--> statement-breakpoint
CREATE INDEX `bounces_mailing` ON `bounces` (`mailing_id`);--> statement-breakpoint
CREATE TABLE `mailing_health` (
	`mailing_id` integer PRIMARY KEY NOT NULL,
	`window_start` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`mailing_id`) REFERENCES `mailings`(`id`) ON UPDATE no action ON DELETE cascade
);
