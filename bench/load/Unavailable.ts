/** The row cannot run here, and what to do about it. */
export class Unavailable extends Error {
	constructor(message: string) {
		super(message);
		this.name = "Unavailable";
	}
}
