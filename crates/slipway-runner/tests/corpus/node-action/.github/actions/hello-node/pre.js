console.log(`pre runs first for ${process.env.INPUT_NAME}`);
