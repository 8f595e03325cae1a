CREATE TABLE `clicks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`mailing_id` integer NOT NULL,
	`subscriber_id` integer NOT NULL,
	`variant` text DEFAULT '' NOT NULL,
	`link_idx` integer NOT NULL,
	`machine` integer DEFAULT false NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `clicks_mailing` ON `clicks` (`mailing_id`,`subscriber_id`);--> statement-breakpoint
CREATE TABLE `deliveries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`mailing_id` integer NOT NULL,
	`subscriber_id` integer NOT NULL,
	`variant` text DEFAULT '' NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`message_id` text,
	`batch_id` text,
	`queued_at` integer,
	`sent_at` integer,
	`updated_at` integer,
	FOREIGN KEY (`mailing_id`) REFERENCES `mailings`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `deliveries_mailing_subscriber` ON `deliveries` (`mailing_id`,`subscriber_id`);--> statement-breakpoint
CREATE INDEX `deliveries_mailing_state` ON `deliveries` (`mailing_id`,`state`);--> statement-breakpoint
CREATE INDEX `deliveries_subscriber` ON `deliveries` (`subscriber_id`);--> statement-breakpoint
CREATE TABLE `letters` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`subject` text NOT NULL,
	`preheader` text DEFAULT '' NOT NULL,
	`from_name` text DEFAULT '' NOT NULL,
	`from_email` text NOT NULL,
	`reply_to` text,
	`layout` text NOT NULL,
	`blocks` text DEFAULT '[]' NOT NULL,
	`text_body` text,
	`settings` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `links` (
	`mailing_id` integer NOT NULL,
	`variant` text DEFAULT '' NOT NULL,
	`idx` integer NOT NULL,
	`url` text NOT NULL,
	`has_tokens` integer DEFAULT false NOT NULL,
	PRIMARY KEY(`mailing_id`, `variant`, `idx`),
	FOREIGN KEY (`mailing_id`) REFERENCES `mailings`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `list_members` (
	`list_id` integer NOT NULL,
	`subscriber_id` integer NOT NULL,
	`added_at` integer NOT NULL,
	PRIMARY KEY(`list_id`, `subscriber_id`),
	FOREIGN KEY (`list_id`) REFERENCES `lists`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `list_members_subscriber` ON `list_members` (`subscriber_id`);--> statement-breakpoint
CREATE TABLE `lists` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `lists_name` ON `lists` (`name`);--> statement-breakpoint
CREATE TABLE `mailings` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`letter_id` integer NOT NULL,
	`list_id` integer NOT NULL,
	`status` text DEFAULT 'draft' NOT NULL,
	`start_at` integer NOT NULL,
	`rate_per_minute` integer,
	`window_minutes` integer,
	`letter_snapshot` text,
	`total` integer DEFAULT 0 NOT NULL,
	`paused_reason` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	FOREIGN KEY (`letter_id`) REFERENCES `letters`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`list_id`) REFERENCES `lists`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `mailings_due` ON `mailings` (`status`,`start_at`);--> statement-breakpoint
CREATE TABLE `opens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`mailing_id` integer NOT NULL,
	`subscriber_id` integer NOT NULL,
	`variant` text DEFAULT '' NOT NULL,
	`machine` integer DEFAULT false NOT NULL,
	`implied` integer DEFAULT false NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `opens_mailing` ON `opens` (`mailing_id`,`subscriber_id`);--> statement-breakpoint
CREATE TABLE `subscribers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`email` text NOT NULL,
	`first_name` text DEFAULT '' NOT NULL,
	`last_name` text DEFAULT '' NOT NULL,
	`attributes` text DEFAULT '{}' NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`status_reason` text,
	`status_changed_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `subscribers_email` ON `subscribers` (`email`);