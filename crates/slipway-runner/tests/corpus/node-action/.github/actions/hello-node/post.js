console.log(`post sees state started=${process.env.STATE_started}`);
